package store_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

// fill writes a journal with every kind of event: entries in every state,
// replays, reposts, transfers, imports, guest moves and a resync, audit
// records, and a retention run in the middle.
func (e *env) fill() {
	e.t.Helper()
	n := 0
	for range 2 {
		for _, s := range restingStates {
			n++
			e.to(n, s)
		}
	}
	r := record(1)
	r.Received = r.Received.Add(time.Minute)
	if c, err := e.j.Capture(ctx, r); err != nil || !c.Replay {
		e.t.Fatalf("replay: %+v %v", c, err)
	}
	id := e.to(100, gateway.StateInDoubt)
	e.move(id, gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "not on the folio"})
	id = e.to(101, gateway.StateRefused)
	e.move(id, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "wrong room", Room: "512", Charge: charge(99)})
	e.guest(checkIn("101", "G1", "Smith", false))
	e.guest(checkIn("101", "G2", "Jones", true))
	e.guest(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "205", Reservation: "G2"}, Fields: []string{"GS"}, OldRoom: "101"})
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncStart})
	e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "205", Reservation: "G2"}, Fields: []string{"RN", "G#"}})
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	e.guest(checkIn("300", "", "Brown", false))
	if err := e.j.Audit(ctx, gateway.AuditRecord{Actor: "admin", Action: "config-change", Detail: map[string]string{"key": "rooms.map"}}); err != nil {
		e.t.Fatal(err)
	}
	// A retention run over everything so far that is closed, then more.
	e.clock.Add(400 * 24 * time.Hour)
	if p, err := e.j.Prune(ctx, e.clock.Now().Add(-time.Hour), false); err != nil || p.Entries == 0 {
		e.t.Fatalf("prune: %+v %v", p, err)
	}
	for range 2 {
		for _, s := range restingStates {
			n++
			e.to(n+200, s)
		}
	}
}

// snapshot is everything the queries say about a journal.
func (e *env) snapshot() string {
	e.t.Helper()
	var b bytes.Buffer
	list, err := e.j.Entries(ctx, gateway.Filter{History: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range list {
		line, _ := json.Marshal(en)
		b.Write(line)
		b.WriteByte('\n')
	}
	c, _ := e.j.Counts(ctx)
	in, _ := e.j.Info(ctx)
	fmt.Fprintf(&b, "%v\n%+v\n%s\n", c, in, e.rooms())
	for _, s := range gateway.States {
		l, _ := e.j.Entries(ctx, gateway.Filter{States: []gateway.State{s}})
		fmt.Fprintf(&b, "%s %d\n", s, len(l))
	}
	return b.String()
}

// TestRebuildEqualsStored: every projection rebuilt from the events alone
// equals the stored one, and the queries say the same before and after.
func TestRebuildEqualsStored(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	rep := e.verify()
	if rep.Pruned == 0 || rep.Events == 0 || rep.Events+rep.Pruned != rep.LastSeq {
		t.Errorf("report %+v", rep)
	}
	before := e.snapshot()
	n, err := e.j.Rebuild(ctx)
	if err != nil || uint64(n) != rep.Events {
		t.Fatalf("rebuild: %d events, %v", n, err)
	}
	e.verify()
	if after := e.snapshot(); after != before {
		t.Errorf("queries differ after a rebuild:\n%s\n----\n%s", before, after)
	}
	// A damaged projection is found, and Rebuild repairs it.
	e.j.Close()
	e.j = nil
	edit(t, e.path, func(tx *bolt.Tx) {
		tx.Bucket([]byte("counts")).Put([]byte("posted"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
		c := tx.Bucket([]byte("by_room")).Cursor()
		k, _ := c.First()
		tx.Bucket([]byte("by_room")).Delete(bytes.Clone(k))
	})
	e.open()
	rep, err = e.j.Verify(ctx, t.TempDir())
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "projection counts") ||
		!strings.Contains(strings.Join(rep.Problems, "\n"), "projection by_room") {
		t.Errorf("damaged projections not found: %v %v", rep.Problems, err)
	}
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	e.verify()
	if after := e.snapshot(); after != before {
		t.Errorf("queries differ after the repair")
	}
}

// edit changes a closed journal file with bbolt directly, as a tamperer
// would.
func edit(t *testing.T, path string, fn func(tx *bolt.Tx)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { fn(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFindsTampering: a changed byte, a removed event, swapped events
// and a rewritten hash are each found.
func TestVerifyFindsTampering(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	in, _ := e.j.Info(ctx)
	e.j.Close()
	e.j = nil
	key := func(seq uint64) []byte { return []byte{0, 0, 0, 0, 0, 0, byte(seq >> 8), byte(seq)} }
	last := in.LastSeq
	for _, tc := range []struct {
		name string
		edit func(ev *bolt.Bucket)
		want string
	}{
		{"a changed byte", func(ev *bolt.Bucket) {
			v := bytes.Clone(ev.Get(key(last - 3)))
			i := bytes.Index(v, []byte(`"room":"415"`))
			if i < 0 {
				i = bytes.Index(v, []byte(`"kind"`))
			}
			v[i+9]++
			ev.Put(key(last-3), v)
		}, fmt.Sprintf("event %d does not match its hash", last-3)},
		{"a removed event", func(ev *bolt.Bucket) { ev.Delete(key(last - 5)) }, fmt.Sprintf("events %d to %d are missing", last-5, last-5)},
		{"swapped events", func(ev *bolt.Bucket) {
			a, b := bytes.Clone(ev.Get(key(last-8))), bytes.Clone(ev.Get(key(last-7)))
			ev.Put(key(last-8), b)
			ev.Put(key(last-7), a)
		}, fmt.Sprintf("event %d does not match its hash", last-8)},
		{"a rewritten hash", func(ev *bolt.Bucket) {
			v := bytes.Clone(ev.Get(key(last - 2)))
			v[0] ^= 0xff
			ev.Put(key(last-2), v)
		}, fmt.Sprintf("event %d does not match its hash", last-2)},
		{"a changed event with its hash recomputed", func(ev *bolt.Bucket) {
			// The tamperer fixes event n's hash; event n+1 no longer chains.
			v := bytes.Clone(ev.Get(key(last - 1)))
			body := bytes.Replace(v[32:], []byte(`"time_utc":"20`), []byte(`"time_utc":"19`), 1)
			prev := ev.Get(key(last - 2))[:32]
			h := chain(prev, body)
			ev.Put(key(last-1), append(h, body...))
		}, fmt.Sprintf("event %d does not match its hash", last)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			copyFile(t, e.path, path)
			edit(t, path, func(tx *bolt.Tx) { tc.edit(tx.Bucket([]byte("events"))) })
			j, err := store.Open(path, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			rep, err := j.Verify(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Errorf("problems %q, want %q", rep.Problems, tc.want)
			}
		})
	}
}

// TestPrune: retention removes closed entries and their events, leaves the
// chain verifiable and never lets an entry id or posting number come back.
func TestPrune(t *testing.T) {
	e := newEnv(t, store.Options{})
	var old []gateway.EntryID
	for n, s := range restingStates {
		old = append(old, e.to(n, s))
	}
	e.clock.Add(300 * 24 * time.Hour)
	for n, s := range restingStates {
		e.to(100+n, s)
	}
	cut := e.clock.Now().Add(-24 * time.Hour)
	info, _ := e.j.Info(ctx)
	dry, err := e.j.Prune(ctx, cut, true)
	if err != nil || dry.Entries != 5 || !dry.DryRun { // not-chargeable, posted, posted-manually, voided, imported
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if info2, _ := e.j.Info(ctx); info2.LastSeq != info.LastSeq {
		t.Error("a dry run changed the journal")
	}
	p, err := e.j.Prune(ctx, cut, false)
	if err != nil || p.Entries != dry.Entries || p.Events != dry.Events {
		t.Fatalf("prune %+v, dry run %+v: %v", p, dry, err)
	}
	for _, id := range old {
		en, err := e.j.Entry(ctx, id)
		closed := slices.Contains([]gateway.State{gateway.StateNotChargeable, gateway.StatePosted, gateway.StatePostedByHand, gateway.StateVoided, gateway.StateImported}, en.State)
		if err == nil && closed {
			t.Errorf("entry %d (%s) survived retention", id, en.State)
		}
		if err != nil && !gateway.IsKind(err, gateway.KindNotFound) {
			t.Error(err)
		}
	}
	c, _ := e.j.Counts(ctx)
	if c.Entries != int64(2*len(restingStates)-5) {
		t.Errorf("counts after prune: %+v", c)
	}
	e.verify()
	// Everything closed, the newest entries too: ids and posting numbers go on.
	e.clock.Add(48 * time.Hour)
	if _, err := e.j.Prune(ctx, e.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	e.verify()
	in, _ := e.j.Info(ctx)
	e.reopen()
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	id := e.to(999, gateway.StateQueued)
	en, _ := e.j.Entry(ctx, id)
	if uint64(id) != in.Entries+1 || en.Posting != in.Posting+1 {
		t.Errorf("after pruning the newest: entry %d posting %d, want %d and %d", id, en.Posting, in.Entries+1, in.Posting+1)
	}
	e.verify()
	log, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	var runs int
	for _, ev := range log {
		if ev.Kind == gateway.EventPruned {
			runs++
		}
	}
	if runs != 2 {
		t.Errorf("%d pruned events in the audit log, want 2", runs)
	}
	// Tidy applies a configured retention.
	e.j.Close()
	e.opt.RetentionMonths = 1
	e.open()
	e.move(id, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "test call"})
	e.clock.Add(40 * 24 * time.Hour)
	td, err := e.j.Tidy(ctx)
	if err != nil || td.Pruned.Entries != 1 {
		t.Errorf("tidy with retention: %+v %v", td, err)
	}
	e.verify()
}

func TestBackupWhileWriting(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := range 150 {
			id := e.capture(1000 + n)
			e.move(id, gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(50)})
		}
	}()
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if _, err := e.j.BackupFile(ctx, path); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	if _, err := e.j.BackupFile(ctx, files[0]); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("backup over an existing file: %v", err)
	}
	want, _ := e.j.Info(ctx)
	for _, f := range files {
		b, err := store.Open(f, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		in, _ := b.Info(ctx)
		rep, err := b.Verify(ctx, dir)
		if err != nil || !rep.OK() || in.Epoch != want.Epoch || in.LastSeq > want.LastSeq || in.LastSeq == 0 {
			t.Errorf("backup %s: %+v %v %v", f, in, rep.Problems, err)
		}
		b.Close()
	}
}

func TestCompact(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 120 {
		e.to(n, gateway.StatePosted)
	}
	e.clock.Add(24 * time.Hour)
	if _, err := e.j.Prune(ctx, e.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	want, _ := e.j.Info(ctx)
	if _, _, err := store.Compact(e.path, store.Options{}); !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("compacting an open journal: %v", err)
	}
	e.j.Close()
	before, after, err := store.Compact(e.path, store.Options{})
	if err != nil || after >= before {
		t.Errorf("compact: %d → %d bytes, %v", before, after, err)
	}
	e.open()
	if in, _ := e.j.Info(ctx); in != want {
		t.Errorf("compacted journal %+v, want %+v", in, want)
	}
	e.verify()
	e.to(400, gateway.StateQueued)
	e.verify()
}

// TestInUse: a journal another process (or Open) holds fails at once with a
// sentence, for readers too.
func TestInUse(t *testing.T) {
	e := newEnv(t, store.Options{})
	for _, ro := range []bool{false, true} {
		start := time.Now()
		_, err := store.Open(e.path, store.Options{ReadOnly: ro, Timeout: 100 * time.Millisecond})
		want := fmt.Sprintf("the journal %s is in use by a running gateway (pid %d): stop it first", e.path, os.Getpid())
		if err == nil || !strings.Contains(err.Error(), want) || !gateway.IsTransient(err) {
			t.Errorf("read-only %v: %v\nwant %q", ro, err, want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Open took %v", d)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.db")
	if _, err := store.Open(missing, store.Options{ReadOnly: true}); !gateway.IsKind(err, gateway.KindNotFound) || !strings.Contains(err.Error(), "there is no journal at") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a read-only open created the file")
	}
	if _, err := store.Open(filepath.Join(dir, "no", "such", "folder.db"), store.Options{}); err == nil || !strings.Contains(err.Error(), "does not exist: create it") {
		t.Errorf("missing folder: %v", err)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 1000), 0o600)
	if _, err := store.Open(text, store.Options{}); err == nil || !strings.Contains(err.Error(), "is not a readable journal") {
		t.Errorf("text file: %v", err)
	}
	other := filepath.Join(dir, "other.db")
	edit(t, other, func(tx *bolt.Tx) { tx.CreateBucket([]byte("stuff")) })
	if _, err := store.Open(other, store.Options{}); err == nil || !strings.Contains(err.Error(), "not a callgate journal") {
		t.Errorf("foreign bbolt file: %v", err)
	}
	if _, err := store.Open(other, store.Options{PostingMax: 5}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("posting max 5: %v", err)
	}
	// A journal from a newer callgate is refused, and left alone.
	e := newEnv(t, store.Options{})
	e.capture(1)
	e.j.Close()
	e.j = nil
	edit(t, e.path, func(tx *bolt.Tx) { tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 7}) })
	for _, ro := range []bool{false, true} {
		_, err := store.Open(e.path, store.Options{ReadOnly: ro})
		if !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "was written by a newer callgate (schema 7; this one knows schema 2): upgrade callgate") {
			t.Errorf("newer schema, read-only %v: %v", ro, err)
		}
	}
}

// TestConcurrentReaders: the console reads while the engine writes; every
// read sees a consistent journal. Run with -race.
func TestConcurrentReaders(t *testing.T) {
	e := newEnv(t, store.Options{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen int64
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				switch (r + i) % 4 {
				case 0:
					c, err := e.j.Counts(ctx)
					if err != nil || c.Entries < seen {
						errs <- fmt.Errorf("counts went back: %+v %v", c, err)
						return
					}
					seen = c.Entries
				case 1:
					list, err := e.j.Entries(ctx, gateway.Filter{Newest: true, Limit: 20, History: true})
					if err != nil {
						errs <- err
						return
					}
					for _, en := range list {
						if len(en.History) == 0 || en.History[len(en.History)-1].To != en.State && en.State != gateway.StateQueued {
							errs <- fmt.Errorf("entry %d is %s, history %+v", en.ID, en.State, en.History)
							return
						}
					}
				case 2:
					if _, err := e.j.Events(ctx, gateway.EventFilter{Since: uint64(i), Limit: 50}); err != nil {
						errs <- err
						return
					}
				case 3:
					if _, err := e.j.Guests(ctx, ""); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for n := range 60 {
		e.to(n, restingStates[n%len(restingStates)])
		if n%10 == 0 {
			e.guest(checkIn(fmt.Sprint(100+n), fmt.Sprint("G", n), "Guest", false))
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.verify()
}

// chain computes an event hash the way the journal does, for the tamper test.
func chain(prev, body []byte) []byte {
	var p [32]byte
	copy(p[:], prev)
	h := store.ChainHash(p, body)
	return h[:]
}

// TestConcurrentWriters: writers that come together share commits (group
// commit), and a write that fails in a shared transaction changes nothing
// while the others land: every capture is there with its bytes, each entry
// went through its moves once, the illegal moves left no trace, and the log
// and its projections verify.
func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t, store.Options{})
	const writers, each = 6, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	ids := make([][]gateway.EntryID, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				c, err := e.j.Capture(ctx, record(n))
				if err != nil || c.Replay {
					errs <- fmt.Errorf("capture %d: %+v %v", n, c, err)
					return
				}
				ids[w] = append(ids[w], c.ID)
				// An illegal move (captured → posted) between legal ones.
				if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StatePosted}); !gateway.IsKind(err, gateway.KindInvalid) {
					errs <- fmt.Errorf("entry %d moved to posted from captured: %v", c.ID, err)
				}
				if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(120)}); err != nil {
					errs <- err
				}
				if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateQueued, Room: "415"}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	commits, writes := store.Grouped(e.j)
	t.Logf("%d writes in %d commits", writes, commits)
	postings := map[uint32]bool{}
	for w := range writers {
		for i, id := range ids[w] {
			en, err := e.j.Entry(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := record(w*each + i).Data; string(en.Raw.Data) != string(want) {
				t.Errorf("entry %d holds %q, want %q", id, en.Raw.Data, want)
			}
			var path []string
			for _, h := range en.History {
				path = append(path, string(h.To))
			}
			if got := strings.Join(path, " "); got != "captured rated queued" {
				t.Errorf("entry %d went %s", id, got)
			}
			if postings[en.Posting] {
				t.Errorf("posting number %d given twice", en.Posting)
			}
			postings[en.Posting] = true
		}
	}
	c, err := e.j.Counts(ctx)
	if err != nil || c.Entries != writers*each || c.States[gateway.StateQueued] != writers*each {
		t.Errorf("counts %+v %v", c, err)
	}
	e.verify()
}
