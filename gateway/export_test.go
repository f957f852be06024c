package gateway

// PostIdle reports whether the poster waits with an empty queue and nothing
// will wake it before a record comes: a record processed now goes on to
// sent in the commit that queues it.
func (e *Engine) PostIdle() bool {
	e.postMu.Lock()
	defer e.postMu.Unlock()
	return e.postIdle && len(e.wake) == 0
}
