package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// pretend makes this code one schema newer, with the given migration from
// the current one, for one test.
func pretend(t *testing.T, m migration) {
	oldSchema, oldMigrations := currentSchema, migrations
	m.from = currentSchema
	currentSchema, migrations = currentSchema+1, append(slices.Clip(migrations), m)
	t.Cleanup(func() { currentSchema, migrations = oldSchema, oldMigrations })
}

// older writes a journal of the current schema with a few entries and
// returns its path.
func older(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5 {
		c, err := j.Capture(ctx, gateway.RawRecord{Data: []byte{'r', byte('0' + i)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Move(ctx, c.ID, gateway.Change{To: gateway.StateException, Reason: "unparseable"}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	return path
}

func schemaOf(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s uint64
	db.View(func(tx *bolt.Tx) error { s = u64(tx.Bucket(bMeta).Get(kSchema)); return nil })
	return s
}

// TestMigration: an older journal is upgraded on open, in one transaction;
// the usual migration (a projection's layout changed) is a rebuild from the
// events, which keeps everything.
func TestMigration(t *testing.T) {
	path := older(t)
	pretend(t, migration{what: "index entries by extension again", run: func(tx *bolt.Tx, j *Journal) error {
		if err := tx.DeleteBucket(bByExt); err != nil { // the old layout
			return err
		}
		_, err := j.rebuild(context.Background(), tx)
		return err
	}})
	// A reader does not upgrade: it says what to do.
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "has schema 4 and this callgate uses 5: start the gateway once to upgrade it") {
		t.Errorf("read-only open of an old journal: %v", err)
	}
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if in, _ := j.Info(ctx); in.Schema != 5 || in.Entries != 5 {
		t.Errorf("after the upgrade: %+v", in)
	}
	if c, _ := j.Counts(ctx); c.States[gateway.StateException] != 5 {
		t.Errorf("counts after the upgrade: %+v", c)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify after the upgrade: %v %v", rep.Problems, err)
	}
}

// TestMigrationFails: a migration that fails leaves the journal as it was.
func TestMigrationFails(t *testing.T) {
	path := older(t)
	pretend(t, migration{what: "a broken step", run: func(tx *bolt.Tx, j *Journal) error {
		tx.DeleteBucket(bEntries)
		return errors.New("disk full")
	}})
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot upgrade the journal") || !strings.Contains(err.Error(), "(it is unchanged): migration from schema 4 (a broken step): disk full") {
		t.Errorf("failed migration: %v", err)
	}
	if s := schemaOf(t, path); s != 4 {
		t.Errorf("schema %d after a failed migration", s)
	}
	currentSchema, migrations = 4, migrations[:3]
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if c, _ := j.Counts(context.Background()); c.Entries != 5 {
		t.Errorf("entries after a failed migration: %+v", c)
	}
}

// TestMigrateSchema1: a journal written by the schema-1 code (testdata,
// with its entries as that code listed them) is upgraded to entry records
// that carry their raw record, call and charge; its entries read the same,
// and it verifies (stored projections = a rebuild from the events).
func TestMigrateSchema1(t *testing.T) {
	t.Run("one step", func(t *testing.T) {
		path := schema1(t)
		orig, _ := os.ReadFile(path)
		checkMigrated(t, path)
		// The file as it was is kept beside it, for an older callgate.
		if bak, err := os.ReadFile(path + ".schema1.bak"); err != nil || schemaOf(t, path+".schema1.bak") != 1 || len(bak) == 0 || len(orig) == 0 {
			t.Errorf("no schema-1 copy beside the upgraded journal: %v", err)
		}
	})
	// In steps of 3 records, as a large journal is upgraded.
	t.Run("in steps", func(t *testing.T) {
		defer func(n int) { recordsPerStep = n }(recordsPerStep)
		recordsPerStep = 3
		checkMigrated(t, schema1(t))
	})
	// An upgrade cut short after its first step (the machine stopped):
	// the file is still schema 1 with some records converted, and the next
	// start goes on with it.
	t.Run("resumed", func(t *testing.T) {
		path := schema1(t)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.Update(func(tx *bolt.Tx) error {
			var err error
			_, n, err = convertRecords(tx, nil, 3)
			return err
		})
		db.Close()
		if err != nil || n != 3 || schemaOf(t, path) != 1 {
			t.Fatalf("first step: %d records, %v, schema %d", n, err, schemaOf(t, path))
		}
		checkMigrated(t, path)
	})
}

// schema1 returns a copy of the journal written by the schema-1 code.
func schema1(t *testing.T) string {
	t.Helper()
	path := GunzipJournal(t, "testdata/schema1.db.gz")
	if s := schemaOf(t, path); s != 1 {
		t.Fatalf("testdata has schema %d", s)
	}
	return path
}

// checkMigrated opens the schema-1 journal at path and checks the upgrade:
// the entries list as the schema-1 code listed them, and the journal
// verifies.
func checkMigrated(t *testing.T, path string) {
	t.Helper()
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if in, _ := j.Info(ctx); in.Schema != 4 {
		t.Errorf("schema %d after the upgrade", in.Schema)
	}
	es, err := j.Entries(ctx, gateway.Filter{History: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(es, "", " ")
	want, err := os.ReadFile("testdata/schema1.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("entries after the upgrade:\n%s\nwant\n%s", got, want)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify after the upgrade: %v %v", rep.Problems, err)
	}
	// Old records are gone: every one is of the current layout.
	j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bEntries).ForEach(func(k, v []byte) error {
			if _, err := decodeRec(u64(k), v); err != nil {
				t.Errorf("entry %d: %v", u64(k), err)
			}
			return nil
		})
	})
}

// TestMigrateDamaged: a schema-1 record that cannot be read stops the
// upgrade, which changes nothing.
func TestMigrateDamaged(t *testing.T) {
	if _, err := decodeRecV1(1, []byte{1, 3, 'a'}); err == nil {
		t.Error("a cut schema-1 record decodes")
	}
	if _, err := decodeRecV1(1, []byte{2}); err == nil {
		t.Error("a schema-2 record decodes as schema 1")
	}
	// A damaged record in a schema-1 journal: the upgrade stops naming the
	// entry and what to do, and the file stays schema 1.
	path := schema1(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bEntries).Put(be64(2), []byte{1, 3, 'a'}) })
	db.Close()
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "entry 2: entry record is damaged: restore the journal from a backup") || !strings.Contains(err.Error(), "it is still schema 1") {
		t.Errorf("damaged record: %v", err)
	}
	if s := schemaOf(t, path); s != 1 {
		t.Errorf("schema %d after a failed upgrade", s)
	}
}

// TestMigrateSealableUpto: the upgrade to schema 4 records the last event
// written before it (the guest events up to it may hold personal data and
// may go sealed); later events do not move it; a journal created at schema
// 4 has none (docs/central.md, "Guest data").
func TestMigrateSealableUpto(t *testing.T) {
	ctx := context.Background()
	path := GunzipJournal(t, "testdata/guests-v1.db.gz")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	db.View(func(tx *bolt.Tx) error { last = tx.Bucket(bEvents).Sequence(); return nil })
	db.Close()
	if last == 0 {
		t.Fatal("the fixture holds no events")
	}
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "901", Reservation: "R90"}}); err != nil {
		t.Fatal(err)
	}
	in, err := j.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.SealableUpto != last || in.LastSeq <= last {
		t.Errorf("sealable up to %d (last event %d), want %d, the last before the upgrade", in.SealableUpto, in.LastSeq, last)
	}
	fresh, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "901", Reservation: "R90"}}); err != nil {
		t.Fatal(err)
	}
	if in, err := fresh.Info(ctx); err != nil || in.SealableUpto != 0 {
		t.Errorf("a journal created at schema 4 is sealable up to %d (%v), want 0", in.SealableUpto, err)
	}
}

// TestMigrateDamagedStays: stays that cannot be read stop the upgrade to
// schema 4, which changes nothing, with a sentence naming the room and
// what to do.
func TestMigrateDamagedStays(t *testing.T) {
	path := GunzipJournal(t, "testdata/guests-v1.db.gz")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bRooms).Put([]byte("101"), []byte("{not json")) })
	db.Close()
	before := schemaOf(t, path)
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "room 101: its stays cannot be read") || !strings.Contains(err.Error(), "gateway journal rebuild") ||
		!strings.Contains(err.Error(), ".schemaN.bak") || !strings.Contains(err.Error(), "it is unchanged") {
		t.Errorf("damaged stays: %v", err)
	}
	if s := schemaOf(t, path); s != before || s >= 4 {
		t.Errorf("schema %d after a failed upgrade, want %d", s, before)
	}
}
