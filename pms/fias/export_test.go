package fias

// OnAttempt makes the link opened with o call f after each attempt to
// connect that ended, with why it ended, once the status says so.
func OnAttempt(o *Options, f func(err error)) { o.attempted = f }

// EventQueueMax is how many guest events may wait before the link stops
// reading.
const EventQueueMax = eventQueueMax

// QueuedEvents returns how many guest events wait for the engine.
func QueuedEvents(l *Link) int {
	l.events.mu.Lock()
	defer l.events.mu.Unlock()
	return len(l.events.items)
}
