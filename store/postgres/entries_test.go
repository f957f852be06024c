package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/report"
)

// TestEntriesAsTheJournal: the central's entries print, as `gateway
// journal` prints an entry, exactly as the log's own entries do (raw record
// aside, which stays in the event), history included; so every report of
// gateway/report computes the same table from either.
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
	o := report.Options{From: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Location: vienna}
	in := report.InPeriod(o)
	central, want = keep(central, in), keep(want, in)
	if len(central) < 50 || len(central) != len(want) {
		t.Fatalf("%d and %d calls in the period", len(central), len(want))
	}
	for _, r := range report.Reports() {
		if r.Name == "carriers" {
			continue // needs alternative tariffs
		}
		a, err := r.Run(central, o)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		b, err := r.Run(want, o)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("report %s differs:\ncentral %s\nlog     %s", r.Name, ja, jb)
		}
		if r.Name == "rooms" && len(a.Rows) < 10 {
			t.Errorf("the rooms report has %d rows: the test compares too little", len(a.Rows))
		}
	}
}

func keep(es []gateway.Entry, in func(*gateway.Entry) bool) []gateway.Entry {
	var out []gateway.Entry
	for i := range es {
		if in(&es[i]) {
			out = append(out, es[i])
		}
	}
	return out
}
