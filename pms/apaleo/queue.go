package apaleo

import (
	"sync"
	"time"

	"callgate/gateway"

	"github.com/rs/zerolog"
)

// queue hands guest events to the engine in order without ever blocking
// the poller; at close it delivers what it holds for closeGrace, then
// drops the rest (logged) and closes its channel.
type queue struct {
	mu     sync.Mutex
	items  []gateway.GuestEvent
	notify chan struct{}
	stop   chan struct{}
	done   chan struct{}
	out    chan gateway.GuestEvent
	log    zerolog.Logger
}

const closeGrace = 250 * time.Millisecond

func newQueue(log zerolog.Logger) *queue {
	q := &queue{notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), out: make(chan gateway.GuestEvent), log: log}
	go q.pump()
	return q
}

func (q *queue) push(ev gateway.GuestEvent) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *queue) close() {
	close(q.stop)
	<-q.done
}

func (q *queue) next() (gateway.GuestEvent, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return gateway.GuestEvent{}, false
	}
	return q.items[0], true
}

func (q *queue) pop() {
	q.mu.Lock()
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil
	}
	q.mu.Unlock()
}

func (q *queue) pump() {
	defer close(q.done)
	defer close(q.out)
	stop := q.stop
	var giveUp <-chan time.Time
	for {
		ev, ok := q.next()
		if !ok {
			if giveUp != nil {
				return
			}
			select {
			case <-q.notify:
				continue
			case <-stop:
				return
			}
		}
		select {
		case q.out <- ev:
			q.pop()
		case <-stop:
			stop = nil
			giveUp = time.After(closeGrace)
		case <-giveUp:
			q.mu.Lock()
			n := len(q.items)
			q.items = nil
			q.mu.Unlock()
			q.log.Error().Int("events", n).Msg("apaleo: guest events dropped at shutdown: nobody read them")
			return
		}
	}
}
