package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"callgate/pms/mews"
)

// RunConfig is what `gateway sim pms --protocol mews` is told on its
// command line; Run checks it and runs the simulator.
type RunConfig struct {
	Listen        string // the address to listen on, e.g. 127.0.0.1:8089
	Rooms, Vacant string // room lists, "101-160,201": all rooms, those that start vacant
	// Out gets how to point the gateway at the simulator, then one line
	// per charge booked.
	Out    io.Writer
	Logger zerolog.Logger
}

// UsageError is a setting of RunConfig that cannot be used: the command
// line is wrong, not the run.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Run starts a simulator as c says, every room not vacant with a guest in
// house, prints the gateway's settings for it and each charge booked on
// c.Out, until ctx ends. Errors in c are *UsageError.
func Run(ctx context.Context, c RunConfig) error {
	rooms, err := ParseRooms(c.Rooms)
	if err != nil {
		return &UsageError{Msg: "--rooms: " + err.Error()}
	}
	if len(rooms) == 0 {
		return &UsageError{Msg: "--rooms: give the hotel's rooms, like 101-160"}
	}
	vacant, err := ParseRooms(c.Vacant)
	if err != nil {
		return &UsageError{Msg: "--vacant: " + err.Error()}
	}
	s, err := New(Options{Listen: c.Listen, Rooms: rooms, Logger: c.Logger})
	if err != nil {
		return err
	}
	defer s.Close()
	empty := map[string]bool{}
	for _, r := range vacant {
		empty[r] = true
	}
	for _, r := range rooms {
		if !empty[r] {
			if err := s.Occupy(r); err != nil {
				return err
			}
		}
	}
	out := c.Out
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "Mews simulator on %s (%d rooms, %d in house)\n", s.URL(), len(rooms), len(rooms)-len(empty))
	fmt.Fprintf(out, "gateway settings: pms.base_url: %s, pms.charge.service_id: %s, accounting categories:", s.URL(), s.o.ServiceID)
	for _, class := range []string{"international", "national", "local", "mobile", "premium"} {
		fmt.Fprintf(out, " %s %s", class, DefaultAccountingCategories[class])
	}
	fmt.Fprintf(out, "\nits tokens are the public sample tokens of docs/pms-mews.md (%s, %s)\n", mews.EnvClientToken, mews.EnvAccessToken)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	printed := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		led := s.Ledger()
		for _, ch := range led[printed:] {
			amount, _ := mews.FormatAmount(ch.AmountMinor, s.o.Digits)
			fmt.Fprintf(out, "booked: room %s, %s %s, %q, reference %s\n", ch.Room, amount, ch.Currency, ch.Name, ch.Reference)
		}
		printed = len(led)
	}
}

// ParseRooms reads a room list: numbers and ranges, comma-separated
// ("101-160,201"); a range keeps its first number's width ("0101-0103").
func ParseRooms(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		if !isRange {
			for _, r := range part {
				if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
					return nil, fmt.Errorf("%q is not a room number", part)
				}
			}
			out = append(out, part)
			continue
		}
		a, err1 := strconv.Atoi(from)
		b, err2 := strconv.Atoi(to)
		if err1 != nil || err2 != nil || a < 0 || a > b || b-a >= 10000 {
			return nil, fmt.Errorf("%q is not a range of room numbers like 101-160", part)
		}
		for n := a; n <= b; n++ {
			out = append(out, fmt.Sprintf("%0*d", len(from), n))
		}
	}
	return out, nil
}
