package ship

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/internal/testutil"
)

// logQueries serves a ShipLog's events as a journal's Queries would: the
// fake journal for the rest, and the ship cursor.
type logQueries struct {
	*gatewaytest.Journal
	l *gatewaytest.ShipLog
}

func (q logQueries) Info(ctx context.Context) (gateway.JournalInfo, error) {
	evs := q.l.Events()
	return gateway.JournalInfo{Epoch: q.l.Epoch, ChainEpoch: q.l.Epoch, LastSeq: uint64(len(evs)), SealableUpto: q.l.SealableUpto}, nil
}

func (q logQueries) Events(ctx context.Context, f gateway.EventFilter) ([]gateway.Event, error) {
	var out []gateway.Event
	for _, e := range q.l.Events() {
		if e.Seq > f.Since && (f.Limit <= 0 || len(out) < f.Limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

// recordSink keeps the batches a shipper sends and acknowledges them.
type recordSink struct {
	mu      sync.Mutex
	batches []gateway.ShipBatch
}

func (s *recordSink) Ship(_ context.Context, b gateway.ShipBatch) (gateway.ShipAck, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return gateway.ShipAck{Epoch: b.Epoch, Cursor: b.Events[len(b.Events)-1].Seq}, nil
}

func (s *recordSink) sent() []gateway.ShipBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.ShipBatch(nil), s.batches...)
}

// sealLog is a log whose event 6 is a guest event written before schema 4
// (personal data in it), event 7 onwards written since, with event 12 a
// guest event holding a personal key all the same.
func sealLog() *gatewaytest.ShipLog {
	l := gatewaytest.NewShipLog(testEpoch, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.UTC)
	l.PostedCall(1, "101", 100) // events 1 to 5
	l.OldGuest(map[string]any{"room": "101", "reservation": "R1", "event": "check-in", "vip": "Platinum7"})
	l.PostedCall(2, "101", 200) // 7 to 11
	l.OldGuest(map[string]any{"room": "102", "reservation": "R2", "event": "check-in", "language": "E"})
	l.SealableUpto = 6
	return l
}

func runSealShipper(t *testing.T, l *gatewaytest.ShipLog, batch int) (*Shipper, *recordSink) {
	t.Helper()
	sink := &recordSink{}
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{})
	s := &Shipper{Sink: sink, Journal: j, Queries: logQueries{j, l}, BatchMax: batch, Poll: 5 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { stop(t, cancel, done) })
	return s, sink
}

// TestShipperSealsOnlyOldEvents: the shipper seals the guest events the
// journal wrote before schema 4 (up to sealable_upto), names that bound in
// every batch, and sends a later guest event whole (it is not sealed, and
// the central would refuse it sealed).
func TestShipperSealsOnlyOldEvents(t *testing.T) {
	l := sealLog()
	s, sink := runSealShipper(t, l, 4) // batches 1-4, 5-8 (sealed event inside), 9-12
	testutil.WaitFor(t, 20*time.Second, "the shipper sends the log", func() bool { return s.Status().Cursor >= 12 || s.Status().Stopped })
	if c := s.Status().Cursor; c != 12 {
		t.Fatalf("cursor %d, want 12 (%s)", c, s.Status().LastError)
	}
	var sealed []uint64
	for _, b := range sink.sent() {
		if !b.HasSealable || b.SealableUpto != 6 {
			t.Errorf("a batch names sealable_upto %d (%v), want 6", b.SealableUpto, b.HasSealable)
		}
		for _, e := range b.Events {
			if e.Sealed {
				sealed = append(sealed, e.Seq)
				if len(e.Body) != 0 || strings.Contains(string(e.Data), "Platinum7") {
					t.Errorf("sealed event %d keeps %s / %s", e.Seq, e.Body, e.Data)
				}
			}
		}
	}
	if len(sealed) != 1 || sealed[0] != 6 {
		t.Errorf("sealed events %v, want [6]", sealed)
	}
}

// TestShipperRefusesToSealDamagedEvent: a guest event to be sealed whose
// body does not chain to its hash (the journal damaged or altered) stops
// shipping with the chain alarm: the central could not check it.
func TestShipperRefusesToSealDamagedEvent(t *testing.T) {
	for _, batch := range []int{50, 1} { // the event inside a batch, and first of its own
		l := sealLog()
		evs := l.Events()
		evs[5].Body = []byte(strings.Replace(string(evs[5].Body), "Platinum7", "Platinum8", 1))
		s, sink := runSealShipper(t, l, batch)
		testutil.WaitFor(t, 20*time.Second, "the shipper stops", func() bool { return s.Status().Stopped })
		st := s.Status()
		if !st.Stopped || !strings.Contains(st.LastError, "event 6 of the journal does not chain") || !strings.Contains(st.LastError, "gateway journal verify") {
			t.Fatalf("batch %d: status %+v, want shipping stopped at event 6", batch, st)
		}
		for _, b := range sink.sent() {
			if b.Events[len(b.Events)-1].Seq >= 6 {
				t.Errorf("batch %d: event 6 was sent", batch)
			}
		}
	}
	b := gateway.ShipBatch{Epoch: testEpoch, Events: sealLog().Events(), SealableUpto: 6}
	b.Events[5].Hash[0] ^= 1
	if err := sealOld(&b); !errors.Is(err, ErrChain) {
		t.Errorf("sealOld of an event whose hash is not its body's: %v", err)
	}
}
