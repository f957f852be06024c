package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// pretend makes this code schema 2 with the given migration from 1, for one
// test.
func pretend(t *testing.T, m migration) {
	oldSchema, oldMigrations := currentSchema, migrations
	currentSchema, migrations = 2, []migration{m}
	t.Cleanup(func() { currentSchema, migrations = oldSchema, oldMigrations })
}

// schema1 writes a schema-1 journal with a few entries and returns its path.
func schema1(t *testing.T) string {
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
	path := schema1(t)
	pretend(t, migration{from: 1, what: "index entries by extension again", run: func(tx *bolt.Tx, j *Journal) error {
		if err := tx.DeleteBucket(bByExt); err != nil { // the old layout
			return err
		}
		_, err := j.rebuild(context.Background(), tx)
		return err
	}})
	// A reader does not upgrade: it says what to do.
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "has schema 1 and this callgate uses 2: start the gateway once to upgrade it") {
		t.Errorf("read-only open of an old journal: %v", err)
	}
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if in, _ := j.Info(ctx); in.Schema != 2 || in.Entries != 5 {
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
	path := schema1(t)
	pretend(t, migration{from: 1, what: "a broken step", run: func(tx *bolt.Tx, j *Journal) error {
		tx.DeleteBucket(bEntries)
		return errors.New("disk full")
	}})
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot upgrade the journal") || !strings.Contains(err.Error(), "(it is unchanged): migration from schema 1 (a broken step): disk full") {
		t.Errorf("failed migration: %v", err)
	}
	if s := schemaOf(t, path); s != 1 {
		t.Errorf("schema %d after a failed migration", s)
	}
	currentSchema, migrations = 1, nil
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if c, _ := j.Counts(context.Background()); c.Entries != 5 {
		t.Errorf("entries after a failed migration: %+v", c)
	}
}
