package gatewaytest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
)

// Central is an in-memory central (gateway.CentralApplier) with the rules
// of store/postgres's Apply: a gap refused with the cursor, held events
// skipped after their hashes are compared, the chain checked. It also finds
// properties by token and answers cursors, as gateway/ship's server needs.
type Central struct {
	mu       sync.Mutex
	tokens   map[string]string // token → property
	disabled map[string]bool
	streams  map[[2]string]*centralStream // (property, epoch)
	// Applied counts Apply calls that stored at least one event.
	Applied int
}

type centralStream struct {
	events []gateway.Event
	// sealable is the epoch's last event written before journal schema
	// 4, as the first batch that said it told; nil until one did.
	sealable *uint64
}

// NewCentral returns an empty central.
func NewCentral() *Central {
	return &Central{tokens: map[string]string{}, disabled: map[string]bool{}, streams: map[[2]string]*centralStream{}}
}

// AddProperty adds a property with its token.
func (c *Central) AddProperty(name, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[token] = name
}

// Disable disables a property.
func (c *Central) Disable(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disabled[name] = true
}

// PropertyByToken: see gateway/ship.Properties.
func (c *Central) PropertyByToken(_ context.Context, token string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.tokens[token]
	if !ok {
		return "", gateway.Errorf(gateway.KindNotFound, "the central knows no property with this token")
	}
	if c.disabled[p] {
		return p, gateway.Errorf(gateway.KindRejected, "property %q is disabled at the central", p)
	}
	return p, nil
}

// Events is what the central holds of a property's epoch.
func (c *Central) Events(property, epoch string) []gateway.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.streams[[2]string{property, epoch}]; s != nil {
		return append([]gateway.Event(nil), s.events...)
	}
	return nil
}

// Cursor: see gateway/ship.Cursors.
func (c *Central) Cursor(_ context.Context, property, epoch string) (gateway.ShipAck, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := gateway.ShipAck{Epoch: epoch}
	if s := c.streams[[2]string{property, epoch}]; s != nil {
		a.Cursor = uint64(len(s.events))
	}
	return a, nil
}

// Apply implements gateway.CentralApplier.
func (c *Central) Apply(_ context.Context, property string, b gateway.ShipBatch) (gateway.ShipAck, error) {
	if len(b.Events) == 0 || b.Epoch == "" {
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "the batch has no events or no epoch")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	known := false
	for _, p := range c.tokens {
		known = known || p == property
	}
	if !known {
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central", property)
	}
	if c.disabled[property] {
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindRejected, "property %q is disabled at the central", property)
	}
	k := [2]string{property, b.Epoch}
	s := c.streams[k]
	if s == nil {
		s = &centralStream{}
	}
	sealable := s.sealable
	if sealable == nil && b.HasSealable {
		v := b.SealableUpto // the first batch that says it fixes it
		sealable = &v
	}
	cur := uint64(len(s.events))
	first := b.Events[0].Seq
	if first > cur+1 {
		return gateway.ShipAck{}, &gateway.ShipGapError{Epoch: b.Epoch, Cursor: cur, First: first}
	}
	prev := b.ChainGenesis()
	if cur > 0 {
		prev = s.events[cur-1].Hash
		if first == cur+1 && b.PrevHash != prev {
			return gateway.ShipAck{}, gateway.Wrap(gateway.KindRejected, gateway.ErrShipChain, fmt.Sprintf("event %d does not continue the chain the central holds up to event %d", first, cur))
		}
	}
	var add []gateway.Event
	for i, e := range b.Events {
		if i > 0 && e.Seq != b.Events[i-1].Seq+1 {
			return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "the batch's events are not consecutive")
		}
		if e.Seq <= cur {
			if s.events[e.Seq-1].Hash != e.Hash {
				return gateway.ShipAck{}, gateway.Wrap(gateway.KindRejected, gateway.ErrShipChain, fmt.Sprintf("two journals claim property %s: event %d differs", property, e.Seq))
			}
			continue
		}
		if e.Sealed {
			if e.Kind != gateway.EventGuest || len(e.Body) != 0 {
				return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "event %d is sealed and of kind %s, or has a body: only guest events are sealed", e.Seq, e.Kind)
			}
			if e.Entry != 0 || e.Actor != "" || e.Reason != "" || e.From != "" || e.To != "" {
				return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "sealed event %d names an entry, an actor, a reason or a state change", e.Seq)
			}
			if _, personal, err := gateway.SealGuestData(e.Data); err != nil || personal {
				return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "sealed event %d carries more than the stay", e.Seq)
			}
			if sealable == nil || e.Seq > *sealable || !b.HasSealable || e.Seq > b.SealableUpto {
				return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "event %d is sealed and was written after journal schema 4", e.Seq)
			}
		}
		h := sha256.New()
		h.Write(prev[:])
		h.Write(e.Body)
		var sum [32]byte
		h.Sum(sum[:0])
		if e.Sealed {
			sum = e.Hash // a sealed event's hash is taken for its link
		}
		if sum != e.Hash {
			return gateway.ShipAck{}, gateway.Wrap(gateway.KindRejected, gateway.ErrShipChain, fmt.Sprintf("event %d does not continue the chain", e.Seq))
		}
		prev = sum
		add = append(add, e)
	}
	s.sealable = sealable
	c.streams[k] = s
	if len(add) > 0 {
		s.events = append(s.events, add...)
		c.Applied++
	}
	return gateway.ShipAck{Epoch: b.Epoch, Cursor: uint64(len(s.events)), At: time.Now().UTC()}, nil
}

// CentralUnderTest is a central for CentralContract: its applier, a
// property it knows, and how many events it holds of that property's
// epoch.
type CentralUnderTest struct {
	Applier  gateway.CentralApplier
	Property string
	Held     func(epoch string) int
}

// CentralContract checks what every gateway.CentralApplier must do
// (docs/central.md, "Apply"): take batches in order, answer a gap with the
// cursor, skip what it holds, refuse another journal's events and a broken
// chain without storing anything, keep epochs apart.
func CentralContract(t *testing.T, open func(t *testing.T) CentralUnderTest) {
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	log := func(epoch string, n int, room string) *ShipLog {
		l := NewShipLog(epoch, start, time.UTC)
		for i := 0; i < n; i++ {
			l.PostedCall(i, room, int64(100+i))
		}
		return l
	}
	t.Run("in order, twice, overlapping", func(t *testing.T) {
		c := open(t)
		l := log("e1", 10, "101") // 50 events
		for _, r := range [][2]uint64{{1, 20}, {21, 50}, {1, 20}, {15, 50}} {
			a, err := c.Applier.Apply(ctx, c.Property, l.Batch(r[0], r[1]))
			if err != nil || a.Cursor != 50 && r[1] == 50 || a.Epoch != "e1" {
				t.Fatalf("batch %v: %+v %v", r, a, err)
			}
		}
		if n := c.Held("e1"); n != 50 {
			t.Errorf("%d events held, want 50", n)
		}
	})
	t.Run("gap", func(t *testing.T) {
		c := open(t)
		l := log("e1", 10, "101")
		c.Applier.Apply(ctx, c.Property, l.Batch(1, 10))
		_, err := c.Applier.Apply(ctx, c.Property, l.Batch(12, 20))
		var gap *gateway.ShipGapError
		if !errors.As(err, &gap) || gap.Cursor != 10 || gap.First != 12 {
			t.Fatalf("a gap: %v", err)
		}
		if n := c.Held("e1"); n != 10 {
			t.Errorf("%d events held after a gap, want 10", n)
		}
	})
	t.Run("another journal", func(t *testing.T) {
		c := open(t)
		a, b := log("e1", 10, "101"), log("e1", 10, "999")
		if _, err := c.Applier.Apply(ctx, c.Property, a.Batch(1, 20)); err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]uint64{{10, 30}, {21, 30}} {
			_, err := c.Applier.Apply(ctx, c.Property, b.Batch(r[0], r[1]))
			if !errors.Is(err, gateway.ErrShipChain) || !gateway.IsKind(err, gateway.KindRejected) {
				t.Errorf("another journal's events %v: %v", r, err)
			}
		}
		if n := c.Held("e1"); n != 20 {
			t.Errorf("%d events held after refusals, want 20", n)
		}
	})
	t.Run("sealed guest events", func(t *testing.T) {
		c := open(t)
		l := log("e1", 2, "101") // 10 events
		l.OldGuest(map[string]any{"room": "101", "reservation": "R1", "event": "check-in", "vip": "Platinum7", "no_post": true})
		l.PostedCall(3, "101", 300) // events 12 to 16 chain from the guest event
		// A sealed event of another kind, or whose hash is not the
		// journal's, is refused, and nothing of the batch is stored.
		bad := l.Sealed(1, 16)
		bad.Events[3].Sealed, bad.Events[3].Body = true, nil
		if _, err := c.Applier.Apply(ctx, c.Property, bad); err == nil {
			t.Error("a sealed captured event was taken")
		}
		bad = l.Sealed(1, 16)
		bad.Events[10].Hash[0] ^= 1
		if _, err := c.Applier.Apply(ctx, c.Property, bad); !errors.Is(err, gateway.ErrShipChain) {
			t.Errorf("a sealed event with another hash: %v, want a broken chain", err)
		}
		// A sealed event still carrying the guest's personal data, or
		// naming an entry, an actor or a reason (no hash the central can
		// check stands behind them), is refused.
		for name, mod := range map[string]func(e *gateway.Event){
			"personal data": func(e *gateway.Event) {
				e.Data = json.RawMessage(`{"room":"101","reservation":"R1","vip":"Platinum7"}`)
			},
			"an entry": func(e *gateway.Event) { e.Entry = 1 },
			"an actor": func(e *gateway.Event) { e.Actor = "mallory" },
			"a reason": func(e *gateway.Event) { e.Reason = "hidden" },
		} {
			bad = l.Sealed(1, 16)
			mod(&bad.Events[10])
			if _, err := c.Applier.Apply(ctx, c.Property, bad); !gateway.IsKind(err, gateway.KindInvalid) {
				t.Errorf("a sealed event with %s: %v, want it refused as invalid", name, err)
			}
		}
		if n := c.Held("e1"); n != 0 {
			t.Errorf("%d events held after refusals, want 0", n)
		}
		if a, err := c.Applier.Apply(ctx, c.Property, l.Batch(1, 10)); err != nil || a.Cursor != 10 {
			t.Fatalf("events 1 to 10: %+v %v", a, err)
		}
		// A batch starting at a sealed event must name the hash the
		// central holds for the event before it: the sealed event's own
		// hash is taken on trust.
		bad = l.Sealed(11, 16)
		bad.PrevHash[0] ^= 1
		if _, err := c.Applier.Apply(ctx, c.Property, bad); !errors.Is(err, gateway.ErrShipChain) {
			t.Errorf("a sealed first event after another previous hash: %v, want a broken chain", err)
		}
		if n := c.Held("e1"); n != 10 {
			t.Errorf("%d events held after refusals, want 10", n)
		}
		a, err := c.Applier.Apply(ctx, c.Property, l.Sealed(11, 16))
		if err != nil || a.Cursor != 16 {
			t.Fatalf("a batch starting at a sealed guest event: %+v %v", a, err)
		}
		// The batch sent again, now whole: the same hashes, skipped.
		if a, err := c.Applier.Apply(ctx, c.Property, l.Batch(5, 16)); err != nil || a.Cursor != 16 {
			t.Errorf("the same events again, unsealed: %+v %v", a, err)
		}
		if n := c.Held("e1"); n != 16 {
			t.Errorf("%d events held, want 16", n)
		}
		// A guest event written since schema 4 is never sealed, even by
		// a batch that claims a later sealable_upto than the epoch's
		// first batch told (11).
		l.OldGuest(map[string]any{"room": "102", "reservation": "R2", "event": "check-in", "vip": "Gold"})
		l.SealableUpto = 16
		bad = l.Sealed(17, 17)
		if !bad.Events[0].Sealed {
			t.Fatal("the test's event 17 is not sealed")
		}
		if _, err := c.Applier.Apply(ctx, c.Property, bad); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("a sealed event above sealable_upto: %v, want it refused as invalid", err)
		}
		bad.SealableUpto = 17
		if _, err := c.Applier.Apply(ctx, c.Property, bad); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("a sealed event above the epoch's sealable_upto, the batch claiming more: %v, want it refused as invalid", err)
		}
		if n := c.Held("e1"); n != 16 {
			t.Errorf("%d events held after refusals, want 16", n)
		}
	})
	t.Run("epochs apart", func(t *testing.T) {
		c := open(t)
		a, b := log("e1", 4, "101"), log("e2", 2, "102")
		if _, err := c.Applier.Apply(ctx, c.Property, a.Batch(1, 20)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Applier.Apply(ctx, c.Property, b.Batch(1, 10)); err != nil {
			t.Fatal(err)
		}
		if c.Held("e1") != 20 || c.Held("e2") != 10 {
			t.Errorf("held %d and %d, want 20 and 10", c.Held("e1"), c.Held("e2"))
		}
	})
}
