package sim

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestChurner(t *testing.T) {
	s, err := Start("127.0.0.1:0", Options{Rooms: []string{"101"}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.Churner([]string{"101"}, 1, zerolog.Nop())
	c.Step()
	if gs := s.Guests("101"); len(gs) != 1 || gs[0].LastName == "" {
		t.Fatalf("after a step on a vacant room: %+v", gs)
	}
	// Run takes a step at each tick, and ends with its context.
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { c.Run(ctx, tick); close(done) }()
	tick <- time.Time{}
	tick <- time.Time{} // the first step is over once the second tick is taken
	cancel()
	<-done
	if gs := s.Guests("101"); len(gs) != 1 {
		t.Errorf("after out and in again: %+v", gs)
	}
}
