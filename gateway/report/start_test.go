package report

import (
	"context"
	"testing"
)

// TestSchedulerStart: stop ends the background scheduler and waits for it;
// a nil scheduler (no reports configured) starts nothing.
func TestSchedulerStart(t *testing.T) {
	var none *Scheduler
	none.Start(context.Background())()
	s := testScheduler(t, &outbox{}, "rooms", "csv", nil)
	stop := s.Start(context.Background())
	stop() // returns only once Run has returned
	if st := s.Status(); len(st) != 1 {
		t.Errorf("status %+v", st)
	}
}
