package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"callgate/gateway"
)

// TestEntriesAsTheJournal: the central's entries print, as `gateway
// journal` prints an entry, exactly as the log's own entries do (raw record
// aside, which stays in the event), history included; so every report of
// gateway/report computes the same table from either (cmd/gateway's
// TestCentralReport runs them).
func TestEntriesAsTheJournal(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 120)
	applyAll(t, s, "grand", l, 77)
	got, err := s.Entries(testCtx(t), []string{"grand"}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(l.Entries) {
		t.Fatalf("%d entries at the central, %d in the log", len(got), len(l.Entries))
	}
	var central, want []gateway.Entry
	for i, ce := range got {
		if ce.Property != "grand" || ce.Epoch != "e" {
			t.Fatalf("entry %d of %s/%s", ce.ID, ce.Property, ce.Epoch)
		}
		if i > 0 && ce.Time.Before(got[i-1].Time) {
			t.Fatalf("entries out of time order at %d", ce.ID)
		}
		w := l.Entries[ce.ID]
		a, _ := json.Marshal(ce.Entry)
		b, _ := json.Marshal(*w)
		if string(a) != string(b) {
			t.Errorf("entry %d:\ncentral %s\nlog     %s", ce.ID, a, b)
		}
		central = append(central, ce.Entry)
		want = append(want, *w)
	}
	if none, err := s.Entries(testCtx(t), []string{"elsewhere"}, time.Time{}, time.Now(), false); err != nil || len(none) != 0 {
		t.Errorf("another property's entries: %d, %v", len(none), err)
	}
	if len(central) != len(want) {
		t.Fatalf("%d entries compared, %d wanted", len(central), len(want))
	}
}
