package gatewaytest

import (
	"context"
	"io"
	"sync"

	"callgate/gateway"
)

// CallSource is an in-memory gateway.CallSource: the test sends records
// (Send, Line) and the reader gets them in order; End makes Read return
// io.EOF once the records sent are read, as a file source at its end.
type CallSource struct {
	clock gateway.Clock
	recs  chan item
	done  chan struct{}
	once  sync.Once

	mu    sync.Mutex
	reads int
	watch notifier // after every Read
}

type item struct {
	rec gateway.RawRecord
	err error
}

var _ gateway.CallSource = (*CallSource)(nil)

// NewCallSource returns a source stamping records with clock's time (the
// real clock if nil). It holds up to 4096 records not yet read.
func NewCallSource(clock gateway.Clock) *CallSource {
	if clock == nil {
		clock = gateway.RealClock{}
	}
	return &CallSource{clock: clock, recs: make(chan item, 4096), done: make(chan struct{})}
}

// Send queues a record for Read.
func (s *CallSource) Send(rec gateway.RawRecord) { s.recs <- item{rec: rec} }

// Line queues a record of text received now from "fake PBX".
func (s *CallSource) Line(text string) {
	s.Send(gateway.RawRecord{Data: []byte(text), Received: s.clock.Now(), Source: "fake PBX"})
}

// Fail makes a Read, in turn after the records queued before, return err:
// a transport failing.
func (s *CallSource) Fail(err error) { s.recs <- item{err: err} }

// End makes Read return io.EOF after the records queued before.
func (s *CallSource) End() { s.recs <- item{err: io.EOF} }

// Reads returns how many Reads have returned a record or an error.
func (s *CallSource) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Read returns the next record; see gateway.CallSource. After Close it
// returns what was queued, then io.EOF.
func (s *CallSource) Read(ctx context.Context) (gateway.RawRecord, error) {
	var it item
	select {
	case it = <-s.recs:
	default:
		select {
		case it = <-s.recs:
		case <-ctx.Done():
			return gateway.RawRecord{}, ctx.Err()
		case <-s.done:
			select {
			case it = <-s.recs:
			default:
				return gateway.RawRecord{}, io.EOF
			}
		}
	}
	if it.err == io.EOF {
		s.recs <- it // EOF stays
	}
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	s.watch.notify()
	return it.rec, it.err
}

// Await calls cond after every Read until it returns true (then Await
// does), or ctx ends (then false).
func (s *CallSource) Await(ctx context.Context, cond func() bool) bool {
	return s.watch.await(ctx, cond)
}

// Close ends the source; it is idempotent.
func (s *CallSource) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}
