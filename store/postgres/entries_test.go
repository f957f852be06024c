package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/store/postgres"
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

// TestHistoryPlan: the night-audit's histories of a page of November's
// entries read only November's event partition (the query is bounded by
// the page's earliest creation, so September's is pruned) through the
// event_entry index of migration 006, never a scan of a partition's
// events; and the histories are whole.
func TestHistoryPlan(t *testing.T) {
	s, _ := open(t)
	l := gatewaytest.NewShipLog("e", time.Date(2026, 9, 10, 8, 0, 0, 0, time.UTC), time.UTC)
	for i := 1; i <= 40; i++ {
		l.Tick(time.Minute)
		l.PostedCall(i, "101", 250)
	}
	l.Tick(70 * 24 * time.Hour) // 2026-11-19
	for i := 41; i <= 80; i++ {
		l.Tick(time.Minute)
		l.PostedCall(i, "102", 300)
	}
	applyAll(t, s, "grand", l, 100)
	ctx := testCtx(t)
	var ids []int64
	var earliest time.Time
	err := s.EachEntry(ctx, postgres.EntryScan{Properties: []string{"grand"}, From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), History: true}, func(page []postgres.CentralEntry) error {
		for _, ce := range page {
			ids = append(ids, int64(ce.ID))
			want := l.Entries[ce.ID]
			if len(ce.History) != len(want.History) {
				t.Errorf("entry %d: %d state changes, want %d", ce.ID, len(ce.History), len(want.History))
			}
			if c := ce.History[0].Time; earliest.IsZero() || c.Before(earliest) {
				earliest = c
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 40 {
		t.Fatalf("%d entries in November, want 40", len(ids))
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Tiny partitions: without this the planner scans them whatever the
	// indexes; with it, a Seq Scan in the plan means no index serves.
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+postgres.HistorySQL, "grand", "e", ids, earliest.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "event_2026_09") {
		t.Errorf("the histories of November's entries read September's events:\n%s", plan)
	}
	if !strings.Contains(plan, "event_2026_11") {
		t.Errorf("the histories of November's entries do not read November's events:\n%s", plan)
	}
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "property_epoch_entry_idx") {
		t.Errorf("the histories are not read through the event_entry index:\n%s", plan)
	}
}

// TestEachEntryStopped: a scan stopped by its caller returns the caller's
// own error as it was (a client's write error is not PostgreSQL's), and
// one stopped by the request's end says so and is context.Canceled, never
// "PostgreSQL … is not reachable".
func TestEachEntryStopped(t *testing.T) {
	s, _ := open(t)
	applyAll(t, s, "grand", mixedLog("e", 40), 50)
	sc := postgres.EntryScan{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Page: 5}
	gone := &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	err := s.EachEntry(testCtx(t), sc, func([]postgres.CentralEntry) error { return gone })
	if err != gone {
		t.Errorf("the caller's write error came back as %v", err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	err = s.EachEntry(ctx, sc, func([]postgres.CentralEntry) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), "the request ended") {
		t.Errorf("a scan whose request ended: %v", err)
	}
	err = s.EachCall(testCtx(t), postgres.CallFilter{}, 5, nil, func([]postgres.CentralEntry) error { return gone })
	if err != gone {
		t.Errorf("the export's write error came back as %v", err)
	}
}

// TestPoolSize: the pool is 8 connections unless the connection string
// says (pool_max_conns): the chain console runs half as reports and
// exports.
func TestPoolSize(t *testing.T) {
	s, dsn := open(t)
	if n := s.PoolSize(); n != 8 {
		t.Errorf("pool of %d, want 8", n)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if strings.Contains(dsn, "://") {
		dsn += sep + "pool_max_conns=3"
	} else {
		dsn += " pool_max_conns=3"
	}
	s3, err := postgres.Open(testCtx(t), dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if n := s3.PoolSize(); n != 3 {
		t.Errorf("pool_max_conns=3: a pool of %d", n)
	}
}
