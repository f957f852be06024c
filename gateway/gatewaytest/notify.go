package gatewaytest

import (
	"context"
	"sync"
)

// notifier lets tests wait for a fake's next change instead of sleeping.
type notifier struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced at each change
}

// next returns a channel closed at the next change.
func (n *notifier) next() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// notify wakes whoever waits for the next change.
func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
	}
	n.ch = make(chan struct{})
}

// await calls cond after every change until it returns true (then await
// does), or ctx ends (then it returns cond's last word).
func (n *notifier) await(ctx context.Context, cond func() bool) bool {
	for {
		ch := n.next()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cond()
		}
	}
}
