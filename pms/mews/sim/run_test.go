package sim_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/internal/testutil"
	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

func TestParseRooms(t *testing.T) {
	for in, want := range map[string][]string{
		"101-103,201": {"101", "102", "103", "201"},
		"0101-0102":   {"0101", "0102"},
		" 7 , 12A ":   {"7", "12A"},
		"":            nil,
	} {
		if got, err := sim.ParseRooms(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"9-1", "a-b", "1-20000", "10 1", "1|2"} {
		if _, err := sim.ParseRooms(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestRun: the command's simulator serves its rooms, the vacant ones
// empty, prints its settings and each charge, and stops with ctx.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out testutil.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, sim.RunConfig{Listen: addr, Rooms: "101-103", Vacant: "103", Out: &out}) }()
	out.Wait(t, "the settings", func(s string) bool { return strings.Contains(s, "pms.base_url: http://"+addr) })
	if !strings.Contains(out.String(), "3 rooms, 2 in house") || !strings.Contains(out.String(), sim.DefaultServiceID) {
		t.Errorf("%s", out.String())
	}
	// Its guests are readable over HTTP.
	s := &fakeURL{url: "http://" + addr}
	st, _, b := s.call(t, mews.PathReservations, mews.ReservationsRequest{Auth: auth, States: []string{"Started"}, Limitation: mews.Limitation{Count: 10}})
	r, err := mews.DecodeReservations(b)
	if st != 200 || err != nil || len(r.Reservations) != 2 {
		t.Errorf("%d %s %v", st, b, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	var ue *sim.UsageError
	if err := sim.Run(context.Background(), sim.RunConfig{Rooms: "9-1"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--rooms") {
		t.Errorf("bad rooms: %v", err)
	}
}
