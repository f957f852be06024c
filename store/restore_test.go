package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// TestRestoreOldSchemaBackup: a backup taken before this release (an older
// schema) is restored — its copy upgraded beside the journal, verified,
// marked — instead of refused with the advice to start a gateway on it; the
// backup itself is unchanged and the next start begins a new epoch after
// the backup's.
func TestRestoreOldSchemaBackup(t *testing.T) {
	ctx := context.Background()
	backup := schema1(t)
	before, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	r, err := Restore(ctx, path, backup, Options{})
	if err != nil {
		t.Fatalf("restore of a schema-1 backup: %v", err)
	}
	if after, _ := os.ReadFile(backup); string(after) != string(before) {
		t.Error("the restore changed the backup")
	}
	if s := schemaOf(t, path); s != uint64(currentSchema) {
		t.Errorf("the restored journal has schema %d, want %d", s, currentSchema)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".journal.db.restoring-*")); len(left) != 0 {
		t.Errorf("the restore left %v", left)
	}
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	in, _ := j.Info(ctx)
	if in.Epoch == r.Epoch || in.Follows != r.Epoch || in.FollowsSeq != r.LastSeq || len(in.Ancestry) != 1 {
		t.Errorf("after the restore: %+v; the backup %+v", in, r)
	}
}

// TestRestoreKeepsEveryReplacedJournal: the replaced journal is kept under
// a name no other file has (two restores in one second keep both), as a
// second name of the same file, and the restored copy takes the path.
func TestRestoreKeepsEveryReplacedJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	backup := older(t)
	if err := os.Rename(backup, filepath.Join(dir, "backup.db")); err != nil {
		t.Fatal(err)
	}
	backup = filepath.Join(dir, "backup.db")
	if _, err := Restore(ctx, path, backup, Options{}); err != nil { // onto nothing
		t.Fatal(err)
	}
	// Names a restore in this second or the next would take, taken.
	now := time.Now().UTC()
	var taken []string
	for _, at := range []time.Time{now, now.Add(time.Second)} {
		name := path + ".replaced-" + at.Format("20060102T150405Z")
		if err := os.WriteFile(name, []byte("an earlier replaced journal"), 0o600); err != nil {
			t.Fatal(err)
		}
		taken = append(taken, name)
	}
	seen := map[string]bool{}
	for range 3 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Restore(ctx, path, backup, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Replaced == "" || seen[r.Replaced] {
			t.Fatalf("the replaced journal kept as %q twice", r.Replaced)
		}
		seen[r.Replaced] = true
		kept, err := os.Stat(r.Replaced)
		if err != nil || !os.SameFile(st, kept) {
			t.Errorf("%s is not the replaced journal: %v", r.Replaced, err)
		}
	}
	for _, name := range taken {
		if b, err := os.ReadFile(name); err != nil || string(b) != "an earlier replaced journal" {
			t.Errorf("%s was overwritten", name)
		}
	}
}

// TestAncestryKeepsEveryEpoch: a backup compacted before it is restored
// starts an epoch of its own inside the backup (its copy mark), which never
// ships; the restored journal's epoch names both epochs it descends from,
// the followed one last. A journal written before the ancestry was kept
// reads its one followed epoch as its ancestry.
func TestAncestryKeepsEveryEpoch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := older(t)
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := j.Info(ctx)
	backup := filepath.Join(dir, "backup.db")
	if _, err := j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, _, err := Compact(backup, Options{}); err != nil {
		t.Fatal(err)
	}
	bj, err := Open(backup, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := bj.Info(ctx)
	bj.Close()
	if b.Epoch == a.Epoch || b.Follows != a.Epoch {
		t.Fatalf("the compacted backup: %+v", b)
	}
	if _, err := Restore(ctx, path, backup, Options{}); err != nil {
		t.Fatal(err)
	}
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := j.Info(ctx)
	j.Close()
	want := []gateway.EpochAncestor{{Epoch: a.Epoch, Entry: a.Entries, Seq: a.LastSeq}, {Epoch: b.Epoch, Entry: b.Entries, Seq: b.LastSeq}}
	if len(c.Ancestry) != 2 || c.Ancestry[0] != want[0] || c.Ancestry[1] != want[1] || c.Follows != b.Epoch || c.FollowsSeq != b.LastSeq {
		t.Errorf("the restored epoch %s descends from %+v (follows %s), want %+v", c.Epoch, c.Ancestry, c.Follows, want)
	}
	// Written by the release before: follows alone.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete(kAncestry) })
	db.Close()
	j, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := j.Info(ctx)
	j.Close()
	if len(old.Ancestry) != 1 || old.Ancestry[0] != want[1] || old.Follows != b.Epoch {
		t.Errorf("a journal with follows alone: %+v", old.Ancestry)
	}
}

// TestRestoreWithoutHardLinks: on a file system without hard links the
// replaced journal is copied to its kept name, never over a file there.
func TestRestoreWithoutHardLinks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := older(t)
	backup := filepath.Join(dir, "backup.db")
	j, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	j.Close()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	linkFile = func(string, string) error { return &os.LinkError{Op: "link", Err: os.ErrPermission} }
	t.Cleanup(func() { linkFile = os.Link })
	for range 2 {
		r, err := Restore(ctx, path, backup, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if kept, err := os.ReadFile(r.Replaced); err != nil || string(kept) != string(old) {
			t.Fatalf("the replaced journal kept as %s: %v", r.Replaced, err)
		}
		old, _ = os.ReadFile(path)
	}
}
