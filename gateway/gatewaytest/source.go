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
	// next is an error or end TryRead took from recs, for the next Read.
	next  *item
	watch notifier // after every Read
}

type item struct {
	rec gateway.RawRecord
	err error
}

var _ gateway.WaitingSource = (*CallSource)(nil)

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
	s.mu.Lock()
	next := s.next
	s.next = nil
	s.mu.Unlock()
	var it item
	if next != nil {
		it = *next
	} else {
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
	}
	return s.deliver(it)
}

// TryRead returns a record queued and waiting, without blocking; see
// gateway.WaitingSource. An error or the end queued next is left for Read.
func (s *CallSource) TryRead() (gateway.RawRecord, bool) {
	s.mu.Lock()
	if s.next != nil {
		s.mu.Unlock()
		return gateway.RawRecord{}, false
	}
	s.mu.Unlock()
	select {
	case it := <-s.recs:
		if it.err != nil {
			s.mu.Lock()
			s.next = &it
			s.mu.Unlock()
			return gateway.RawRecord{}, false
		}
		rec, _ := s.deliver(it)
		return rec, true
	default:
		return gateway.RawRecord{}, false
	}
}

// deliver counts a read of it and returns it; the end stays for the next.
func (s *CallSource) deliver(it item) (gateway.RawRecord, error) {
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
