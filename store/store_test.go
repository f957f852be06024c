package store_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

// TestInUse: a journal another process (or Open) holds fails at once with a
// sentence, for readers too.
func TestInUse(t *testing.T) {
	e := newEnv(t, store.Options{})
	for _, ro := range []bool{false, true} {
		t.Run(fmt.Sprintf("read-only=%v", ro), func(t *testing.T) {
			start := time.Now()
			_, err := store.Open(e.path, store.Options{ReadOnly: ro, Timeout: 100 * time.Millisecond})
			want := fmt.Sprintf("the journal %s is in use by a running gateway (pid %d): stop it first", e.path, os.Getpid())
			if err == nil || !strings.Contains(err.Error(), want) || !gateway.IsTransient(err) {
				t.Errorf("read-only %v: %v\nwant %q", ro, err, want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Open took %v", d)
			}
		})
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
		t.Run(fmt.Sprintf("read-only=%v", ro), func(t *testing.T) {
			_, err := store.Open(e.path, store.Options{ReadOnly: ro})
			if !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "was written by a newer callgate (schema 7; this one knows schema 4): upgrade callgate") {
				t.Errorf("newer schema, read-only %v: %v", ro, err)
			}
		})
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
				if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateSent}); err != nil {
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
			if got := strings.Join(path, " "); got != "captured rated queued sent" {
				t.Errorf("entry %d went %s", id, got)
			}
			if postings[en.Posting] {
				t.Errorf("posting number %d given twice", en.Posting)
			}
			postings[en.Posting] = true
		}
	}
	c, err := e.j.Counts(ctx)
	if err != nil || c.Entries != writers*each || c.States[gateway.StateSent] != writers*each {
		t.Errorf("counts %+v %v", c, err)
	}
	e.verify()
}
