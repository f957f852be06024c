package changes

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestWaitWakesOnNotify(t *testing.T) {
	var s Signal
	var mu sync.Mutex
	n := 0
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		done <- s.Wait(ctx, func() bool { mu.Lock(); defer mu.Unlock(); return n == 3 })
	}()
	for range 3 {
		mu.Lock()
		n++
		mu.Unlock()
		s.Notify()
	}
	if err := <-done; err != nil {
		t.Fatalf("the condition held and Wait said %v", err)
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	var s Signal
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Wait(ctx, func() bool { return false }); err != context.Canceled {
		t.Fatalf("Wait on an ended context: %v", err)
	}
	if err := s.Wait(context.Background(), func() bool { return true }); err != nil {
		t.Fatalf("a condition that holds at once: %v", err)
	}
}
