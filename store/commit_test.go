package store

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// TestCommitterBatchWithAFailure: a write that fails in the middle of a
// batch gets its error and changes nothing; the writes around it commit,
// each once in the file, in their order.
func TestCommitterBatchWithAFailure(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &committer{db: db}
	boom := errors.New("boom")
	runs := make([]int, 4)
	put := func(i int, fail bool) *commitReq {
		return &commitReq{done: make(chan error, 1), fn: func(tx *bolt.Tx) error {
			runs[i]++
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			// Each write appends after what the writes before it left.
			n, _ := b.NextSequence()
			if err := b.Put(binary.BigEndian.AppendUint64(nil, n), []byte{byte('a' + i)}); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}}
	}
	batch := []*commitReq{put(0, false), put(1, true), put(2, false), put(3, false)}
	c.commit(batch)
	for i, r := range batch {
		err := <-r.done
		if want := error(nil); i == 1 {
			if !errors.Is(err, boom) {
				t.Errorf("write 1: %v, want its own error", err)
			}
		} else if err != want {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if runs[0] != 2 || runs[1] != 1 || runs[2] != 1 || runs[3] != 1 {
		t.Errorf("runs %v: the writes before the failure run again, the others once", runs)
	}
	var got []byte
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("b")).ForEach(func(k, v []byte) error {
			got = append(got, v...)
			return nil
		})
	})
	if string(got) != "acd" {
		t.Errorf("stored %q, want acd: the failed write left nothing", got)
	}
}

// TestCommitterStop: writes after stop fail as after bbolt's Close; a write
// racing with stop either commits or fails, never hangs.
func TestCommitterStop(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := newCommitter(db)
	var wg sync.WaitGroup
	committed := make(chan struct{}, 8*20)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				err := c.do(func(tx *bolt.Tx) error {
					_, err := tx.CreateBucketIfNotExists([]byte("b"))
					return err
				})
				if err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
					t.Error(err)
				}
				if err == nil {
					committed <- struct{}{}
				}
			}
		})
	}
	<-committed // stop while the writers are at it
	c.stop()
	wg.Wait()
	c.stop() // twice is harmless
	if err := c.do(func(*bolt.Tx) error { return nil }); !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		t.Errorf("a write after stop: %v", err)
	}
}

// TestCommitterPanic: a write whose function panics (bbolt on a damaged
// page, or a bug) fails alone, with the panic as its error; the others
// commit and the committer goes on.
func TestCommitterPanic(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := newCommitter(db)
	defer c.stop()
	put := func(k string) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte(k), []byte(k))
		}
	}
	err = c.do(func(tx *bolt.Tx) error {
		put("lost")(tx)
		panic("a bug")
	})
	if wp, ok := err.(writePanic); !ok || wp.v != "a bug" {
		t.Errorf("the writer got %v, want its panic as its error", err)
	}
	if err := c.do(put("kept")); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		if b.Get([]byte("kept")) == nil || b.Get([]byte("lost")) != nil {
			t.Error("the panicking write left something, or the next one did not land")
		}
		return nil
	})
	// In a batch: the panicking write is dropped, the others commit.
	batch := []*commitReq{{fn: put("a"), done: make(chan error, 1)}, {fn: func(*bolt.Tx) error { panic("b") }, done: make(chan error, 1)},
		{fn: put("c"), done: make(chan error, 1)}}
	c.commit(batch)
	if err := <-batch[1].done; err == nil || batch[1].panicked != "b" || <-batch[0].done != nil || <-batch[2].done != nil {
		t.Errorf("batch with a panic: %v %v", err, batch[1].panicked)
	}
}
