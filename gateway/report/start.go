package report

import "context"

// Start runs the scheduler in the background until ctx ends or stop is
// called; stop returns once a report being read or sent has ended (before
// the journal it reads is closed, say). A nil scheduler starts nothing.
func (s *Scheduler) Start(ctx context.Context) (stop func()) {
	if s == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx) // logs its failures
	}()
	return func() {
		cancel()
		<-done
	}
}
