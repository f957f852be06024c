package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// lastAudit returns the journal's last event, which must be the audit
// record of a new epoch.
func lastEvent(t *testing.T, j *store.Journal) gateway.Event {
	t.Helper()
	in, err := j.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := j.Events(ctx, gateway.EventFilter{Since: in.LastSeq - 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("last event: %v %v", evs, err)
	}
	return evs[0]
}

// A backup copied back over the journal (the same file, the same inode:
// what `cp backup journal.db` does) starts a new epoch at its first
// writable open: the chain goes on from the file's first epoch, the audit
// log says so, posting references change, and a second open keeps it.
func TestBackupCopiedInPlaceStartsNewEpoch(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 5 {
		e.to(n, gateway.StatePosted)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := e.j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	at, _ := e.j.Info(ctx)
	for n := 5; n < 8; n++ { // lost with the restore
		e.to(n, gateway.StatePosted)
	}
	before, _ := e.j.Info(ctx)
	e.j.Close()
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path, b, 0o600); err != nil { // truncates and writes: the same inode
		t.Fatal(err)
	}
	e.open()
	in, _ := e.j.Info(ctx)
	if in.Epoch == before.Epoch || in.ChainEpoch != before.Epoch || in.Follows != before.Epoch ||
		in.FollowsEntry != at.Entries || in.FollowsSeq != at.LastSeq || in.LastSeq != at.LastSeq+1 {
		t.Fatalf("after the restore: %+v; before %+v, backup at %+v", in, before, at)
	}
	ev := lastEvent(t, e.j)
	want := "journal file replaced (restored or moved): new epoch " + in.Epoch + " after epoch " + before.Epoch
	if ev.Kind != gateway.EventAudit || !strings.Contains(ev.Reason, want) || !strings.Contains(string(ev.Data), store.ActionJournalReplaced) {
		t.Errorf("the audit record: %s %q %s", ev.Kind, ev.Reason, ev.Data)
	}
	if gateway.PostingReference("grand", in.Epoch, 6, 6) == gateway.PostingReference("grand", before.Epoch, 6, 6) {
		t.Errorf("the posting references of the new epoch repeat the old ones")
	}
	e.verify() // the chain from the first epoch's genesis
	e.to(20, gateway.StatePosted)
	e.reopen()
	if again, _ := e.j.Info(ctx); again.Epoch != in.Epoch || again.Follows != before.Epoch {
		t.Errorf("a second open changed the epoch: %+v, want %+v", again, in)
	}
	e.verify()
	// The streamed backup of the new epoch, restored again: a third epoch
	// following the second, on the same chain.
	var buf bytes.Buffer
	if _, err := e.j.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	mid, _ := e.j.Info(ctx)
	e.reopen() // the live file is not a copy: no new epoch
	if got, _ := e.j.Info(ctx); got.Epoch != mid.Epoch {
		t.Fatalf("the journal backed up to a stream started a new epoch itself: %s, want %s", got.Epoch, mid.Epoch)
	}
	e.to(21, gateway.StatePosted)
	e.j.Close()
	if err := os.WriteFile(e.path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	e.open()
	third, _ := e.j.Info(ctx)
	if third.Epoch == mid.Epoch || third.Epoch == before.Epoch || third.ChainEpoch != before.Epoch || third.Follows != mid.Epoch || third.FollowsEntry != mid.Entries {
		t.Errorf("restored twice: %+v, the second epoch %+v", third, mid)
	}
	e.verify()
}

// A stopped journal copied to another file (another inode: a move to a
// new disk, `cp` to a new path) starts a new epoch there; the original
// keeps its own.
func TestCopiedJournalStartsNewEpoch(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.to(1, gateway.StatePosted)
	old, _ := e.j.Info(ctx)
	e.j.Close()
	moved := filepath.Join(t.TempDir(), "journal.db")
	copyFile(t, e.path, moved)
	j, err := store.Open(moved, e.opt)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := j.Info(ctx)
	j.Close()
	if in.Epoch == old.Epoch || in.Follows != old.Epoch || in.ChainEpoch != old.Epoch {
		t.Errorf("the copy: %+v, the original %+v", in, old)
	}
	e.open()
	if again, _ := e.j.Info(ctx); again.Epoch != old.Epoch || again.LastSeq != old.LastSeq {
		t.Errorf("the original: %+v, want %+v", again, old)
	}
}

// Reading a backup (gateway journal events, verify) changes nothing: not
// the file, not its epoch.
func TestReadOnlyOpenOfBackupChangesNothing(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.to(1, gateway.StatePosted)
	old, _ := e.j.Info(ctx)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := e.j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	sum := fileSum(t, backup)
	for range 2 {
		b, err := store.Open(backup, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		in, _ := b.Info(ctx)
		if rep, err := b.Verify(ctx, t.TempDir()); err != nil || !rep.OK() || in.Epoch != old.Epoch || in.Follows != "" {
			t.Errorf("the backup read: %+v %v %v", in, rep.Problems, err)
		}
		b.Close()
	}
	if fileSum(t, backup) != sum {
		t.Errorf("reading the backup changed the file")
	}
}

// Compaction rewrites the file under a new inode: it is the same journal
// and keeps its epoch.
func TestCompactKeepsEpoch(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 20 {
		e.to(n, gateway.StatePosted)
	}
	want, _ := e.j.Info(ctx)
	e.j.Close()
	if _, _, err := store.Compact(e.path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	e.open()
	if in, _ := e.j.Info(ctx); in.Epoch != want.Epoch || in.LastSeq != want.LastSeq || in.Follows != "" {
		t.Errorf("compacted: %+v, want %+v", in, want)
	}
}

// Restore verifies the backup, refuses while the journal is in use, keeps
// the replaced file, and the next open starts a new epoch.
func TestRestore(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 4 {
		e.to(n, gateway.StatePosted)
	}
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	if _, err := e.j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	at, _ := e.j.Info(ctx)
	e.to(10, gateway.StatePosted)
	last, _ := e.j.Info(ctx)
	if _, err := store.Restore(ctx, e.path, backup, e.opt); !errors.Is(err, store.ErrInUse) || !strings.Contains(gateway.Message(err), "stop it first") {
		t.Errorf("restore over a running journal: %v", err)
	}
	e.j.Close()
	// A damaged backup is refused, the journal untouched.
	bad := filepath.Join(dir, "bad.db")
	copyFile(t, backup, bad)
	edit(t, bad, func(tx *bolt.Tx) { // a changed byte in event 2's body
		ev := tx.Bucket([]byte("events"))
		k, v := ev.Cursor().First()
		k, v = ev.Cursor().Seek(append(bytes.Clone(k[:7]), 2))
		v = bytes.Clone(v)
		v[len(v)-3] ^= 1
		ev.Put(k, v)
	})
	sum := fileSum(t, e.path)
	if _, err := store.Restore(ctx, e.path, bad, e.opt); err == nil || !strings.Contains(gateway.Message(err), "does not verify") {
		t.Errorf("restore of a damaged backup: %v", err)
	}
	if fileSum(t, e.path) != sum {
		t.Fatalf("a refused restore changed the journal")
	}
	r, err := store.Restore(ctx, e.path, backup, e.opt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Epoch != at.Epoch || r.LastSeq != at.LastSeq || !strings.HasPrefix(r.Replaced, e.path+".replaced-") {
		t.Errorf("restored: %+v", r)
	}
	if fileSum(t, r.Replaced) != sum {
		t.Errorf("the replaced journal was not kept as it was")
	}
	kept, err := store.Open(r.Replaced, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := kept.Info(ctx); in.LastSeq != last.LastSeq || in.Epoch != last.Epoch {
		t.Errorf("the replaced journal: %+v, want %+v", in, last)
	}
	kept.Close()
	e.open()
	in, _ := e.j.Info(ctx)
	if in.Epoch == at.Epoch || in.Follows != at.Epoch || in.FollowsSeq != at.LastSeq || in.FollowsEntry != at.Entries {
		t.Errorf("after restore: %+v, the backup %+v", in, at)
	}
	ev := lastEvent(t, e.j)
	if !strings.Contains(ev.Reason, "restored from "+backup) {
		t.Errorf("the audit record does not name the backup: %q", ev.Reason)
	}
	e.verify()
	// Nothing to replace: a restore onto a new path.
	fresh := filepath.Join(t.TempDir(), "journal.db")
	if r, err := store.Restore(ctx, fresh, backup, e.opt); err != nil || r.Replaced != "" {
		t.Errorf("restore onto a new path: %+v %v", r, err)
	}
}

// The same file renamed (store.path changed to follow it) keeps its epoch:
// nothing was lost, it is not a copy.
func TestRenamedJournalKeepsEpoch(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.to(1, gateway.StatePosted)
	old, _ := e.j.Info(ctx)
	e.j.Close()
	moved := filepath.Join(filepath.Dir(e.path), "renamed.db")
	if err := os.Rename(e.path, moved); err != nil {
		t.Fatal(err)
	}
	e.path = moved
	e.open()
	if in, _ := e.j.Info(ctx); in.Epoch != old.Epoch || in.LastSeq != old.LastSeq {
		t.Errorf("renamed: %+v, want %+v", in, old)
	}
}

// restoreInPlace closes the journal, writes backup over it (the same
// inode) and opens it again: a new epoch.
func (e *env) restoreInPlace(backup []byte) {
	e.t.Helper()
	e.j.Close()
	if err := os.WriteFile(e.path, backup, 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// Postings numbered before the file was replaced and not settled keep the
// epoch they were numbered under in their references — a lookup or an
// idempotent resend after a restore must name what the PMS may already
// hold — across a second restore too; settled ones and postings numbered
// after the restore name the new epoch.
func TestRestoredPostingsKeepTheirEpoch(t *testing.T) {
	e := newEnv(t, store.Options{})
	posted := e.to(0, gateway.StatePosted)
	sent := e.to(1, gateway.StateSent)
	queued := e.to(2, gateway.StateQueued)
	doubt := e.to(3, gateway.StateInDoubt)
	first, _ := e.j.Info(ctx)
	if first.PostingEpochs != nil {
		t.Fatalf("a journal never replaced has posting epochs: %v", first.PostingEpochs)
	}
	var b1 bytes.Buffer
	if _, err := e.j.Backup(ctx, &b1); err != nil {
		t.Fatal(err)
	}
	number := func(id gateway.EntryID) uint32 {
		en, err := e.j.Entry(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return en.Posting
	}
	e.restoreInPlace(b1.Bytes())
	second, _ := e.j.Info(ctx)
	if number(queued) != 0 {
		t.Fatalf("a queued entry has posting number %d: numbers are given when sent", number(queued))
	}
	want := gateway.PostingEpochs{ // a queued entry has no number yet
		{Entry: sent, Posting: number(sent)}:   first.Epoch,
		{Entry: doubt, Posting: number(doubt)}: first.Epoch,
	}
	if !reflect.DeepEqual(second.PostingEpochs, want) {
		t.Fatalf("posting epochs after a restore: %v, want %v", second.PostingEpochs, want)
	}
	if got := second.PostingEpochs.Of(posted, number(posted), second.Epoch); got != second.Epoch {
		t.Errorf("a settled posting names epoch %s, want the new %s", got, second.Epoch)
	}
	// One settles, two are numbered under the second epoch; restored
	// again, the first epoch's keep it and the second's name the second.
	e.move(sent, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	fresh := e.to(9, gateway.StateInDoubt)
	e.move(queued, gateway.Change{To: gateway.StateSent})
	var b2 bytes.Buffer
	if _, err := e.j.Backup(ctx, &b2); err != nil {
		t.Fatal(err)
	}
	e.restoreInPlace(b2.Bytes())
	third, _ := e.j.Info(ctx)
	want = gateway.PostingEpochs{
		{Entry: doubt, Posting: number(doubt)}:   first.Epoch,
		{Entry: queued, Posting: number(queued)}: second.Epoch, // numbered under the second
		{Entry: fresh, Posting: number(fresh)}:   second.Epoch,
	}
	if third.Epoch == second.Epoch || !reflect.DeepEqual(third.PostingEpochs, want) {
		t.Fatalf("posting epochs after a second restore: %v (epoch %s), want %v", third.PostingEpochs, third.Epoch, want)
	}
}
