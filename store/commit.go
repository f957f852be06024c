package store

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Group commit.
//
// A bbolt commit costs two fsyncs whatever it holds, and on a slow disk that
// is most of a write's time. The journal's writes (Journal.write) therefore
// go to one committer goroutine, which runs every write that arrived while
// the previous commit was syncing in one transaction: a lone write commits at
// once, as before, and writers that come together (the PBX's records, the
// poster's answers, guest events, the console) share the fsyncs instead of
// queueing for them. Every write still returns only after its transaction is
// on disk, and each keeps its own events, in the order the writes reached the
// committer.
//
// A write that fails must change nothing, so a batch in which one write
// returns an error is rolled back; that write gets its error (it saw the
// state the writes before it in the batch made, and those commit next), and
// the batch runs again without it. Write functions may therefore run more
// than once, and must set their results, never accumulate them.

// maxBatch bounds the writes of one transaction.
const maxBatch = 256

type commitReq struct {
	fn   func(tx *bolt.Tx) error
	done chan error
	// panicked holds what fn panicked with; the write's error is then a
	// writePanic, which Journal.write turns into a damaged journal's error
	// (see damage.go).
	panicked any
}

// writePanic is the error of a write whose function panicked.
type writePanic struct{ v any }

func (p writePanic) Error() string { return fmt.Sprint("a journal write panicked: ", p.v) }

// call runs r's function, turning a panic into that write's error, so that
// bbolt's panic on a damaged page (or a bug) in one write fails that write,
// never the committer and every other writer.
func (r *commitReq) call(tx *bolt.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked = v
			err = writePanic{v}
		}
	}()
	return r.fn(tx)
}

// committer runs the journal's grouped writes.
type committer struct {
	db   *bolt.DB
	reqs chan *commitReq
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// commits and writes count transactions and the writes they held.
	commits, writes atomic.Int64
	// fail, if set (by tests only, see export_test.go), is asked after a
	// batch ran and before it commits: an error rolls the transaction
	// back and fails every write of the batch, as a full disk fails the
	// commit's write or fsync.
	fail atomic.Pointer[func() error]
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan *commitReq), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// do runs fn in a write transaction shared with other writes, and returns
// once that transaction is committed (or failed). After stop it fails with
// bbolt's "database not open", as bbolt's own Update would after Close.
func (c *committer) do(fn func(tx *bolt.Tx) error) error {
	r := &commitReq{fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
		return <-r.done
	case <-c.quit:
		return berrors.ErrDatabaseNotOpen
	}
}

// stop ends the committer once the batch it is committing is done. Writes
// that have not reached it fail.
func (c *committer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	// A fault reading a damaged file's memory map is a panic here, not the
	// end of the process (see damage.go).
	debug.SetPanicOnFault(true)
	batch := make([]*commitReq, 0, maxBatch)
	for {
		select {
		case <-c.quit:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.commit(batch)
	}
}

// commit runs a batch in one transaction and answers every write in it.
func (c *committer) commit(batch []*commitReq) {
	for len(batch) > 0 {
		failed := -1
		err := c.update(func(tx *bolt.Tx) error {
			for i, r := range batch {
				if err := r.call(tx); err != nil {
					failed = i
					return err
				}
			}
			if f := c.fail.Load(); f != nil {
				return (*f)()
			}
			return nil
		})
		if err != nil && failed < 0 {
			// The commit failed, not a write (a full disk, or bbolt's
			// panic committing a damaged file): every write of the batch
			// gets the error.
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		if failed < 0 {
			c.commits.Add(1)
			c.writes.Add(int64(len(batch)))
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		batch[failed].done <- err
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// update runs db.Update, turning a panic of bbolt's (spilling or committing
// pages of a damaged file) into a writePanic error; bbolt's Update rolls the
// transaction back as the panic leaves it.
func (c *committer) update(fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = writePanic{v}
		}
	}()
	return c.db.Update(fn)
}
