package gatewaytest_test

import (
	"context"
	"testing"
	"time"

	"callgate/gateway/gatewaytest"
)

func TestClockFiresWaitsInOrder(t *testing.T) {
	c := gatewaytest.NewClock(time.Time{})
	start := c.Now()
	late, early := c.After(10*time.Second), c.After(5*time.Second)
	tick := c.NewTicker(3 * time.Second)
	if c.Waiters() != 2 {
		t.Fatalf("%d waiters, want 2 (tickers are not counted)", c.Waiters())
	}
	c.Advance(4 * time.Second)
	select {
	case at := <-tick.C():
		if at.Sub(start) != 3*time.Second {
			t.Errorf("tick at +%s", at.Sub(start))
		}
	default:
		t.Error("no tick at +3 s")
	}
	select {
	case <-early:
		t.Fatal("a 5 s wait fired at +4 s")
	default:
	}
	c.Advance(6 * time.Second)
	for _, w := range []struct {
		ch   <-chan time.Time
		want time.Duration
	}{{early, 5 * time.Second}, {late, 10 * time.Second}} {
		select {
		case at := <-w.ch:
			if at.Sub(start) != w.want {
				t.Errorf("fired at +%s, want +%s", at.Sub(start), w.want)
			}
		default:
			t.Errorf("the +%s wait did not fire", w.want)
		}
	}
	if c.Waiters() != 0 || c.Now().Sub(start) != 10*time.Second {
		t.Errorf("%d waiters, now +%s", c.Waiters(), c.Now().Sub(start))
	}
	tick.Stop()
	<-tick.C() // the one tick kept while nobody read (+6 s; +9 s was dropped)
	c.Advance(time.Minute)
	select {
	case <-tick.C():
		t.Error("a stopped ticker ticked")
	default:
	}
}

func TestClockWaitFor(t *testing.T) {
	c := gatewaytest.NewClock(time.Time{})
	done := make(chan time.Time)
	go func() { done <- <-c.After(time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !c.WaitFor(ctx, 1) {
		t.Fatal("the wait never started")
	}
	c.Advance(time.Second)
	<-done
}
