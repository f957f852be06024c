package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// TestMigrateTotals: a schema-2 journal (no running totals) is upgraded
// with totals equal to those the live writes kept, and verifies.
func TestMigrateTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)
	for i := range 12 {
		c, err := j.Capture(ctx, gateway.RawRecord{Data: []byte(fmt.Sprintf("record %d", i)), Received: start})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if _, err := j.Move(ctx, c.ID, gateway.Change{To: gateway.StateException, Reason: "unreadable"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		call := gateway.Call{Format: "test", Extension: "101", Dialed: "0123", Start: start, StartUTC: start.Add(time.Duration(i) * 10 * time.Minute),
			DurationS: 60, Direction: gateway.Outgoing, Answered: gateway.Bool(true)}
		ch := gateway.Charge{Class: []string{"local", "national"}[i%2], Chargeable: true, TotalMinor: int64(100 + i), Currency: "USD"}
		if _, err := j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := j.MoveAll(ctx, []gateway.Move{{ID: c.ID, Change: gateway.Change{To: gateway.StateQueued, Room: "101"}},
				{ID: c.ID, Change: gateway.Change{To: gateway.StateSent}},
				{ID: c.ID, Change: gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	from, to := start.Add(-24*time.Hour), start.Add(24*time.Hour)
	live, err := j.Totals(ctx, from, to)
	if err != nil || live.Entries != 12 || len(live.Classes) != 2 || live.Classes[0].Calls+live.Classes[1].Calls != 9 {
		t.Fatalf("live totals %+v %v", live, err)
	}
	j.Close()
	// Schema 2 as it was: no totals bucket.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bTotals); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, be64(2))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if in, _ := j.Info(ctx); in.Schema != 4 {
		t.Errorf("schema %d after the upgrade", in.Schema)
	}
	got, err := j.Totals(ctx, from, to)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(live) {
		t.Errorf("totals after the upgrade %+v %v, want %+v", got, err, live)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify after the upgrade: %v %v", rep.Problems, err)
	}
	// A damaged total is found by verify and mended by a rebuild.
	err = j.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bTotals).Put(timeKey(slotOf(start.UnixMicro())), be64(99))
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := j.Verify(ctx, t.TempDir()); err != nil || rep.OK() {
		t.Errorf("verify of a damaged total: %v %v", rep.Problems, err)
	}
	if _, err := j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := j.Totals(ctx, from, to); err != nil || fmt.Sprint(got) != fmt.Sprint(live) {
		t.Errorf("totals after a rebuild %+v %v, want %+v", got, err, live)
	}
}
