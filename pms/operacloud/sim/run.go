package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// RunConfig is what `gateway sim pms --protocol opera-cloud` is told.
type RunConfig struct {
	Listen string // the TCP address (host:port)
	Rooms  string // rooms with a guest in house: "101-160,201"
	Out    io.Writer
	Logger zerolog.Logger
}

// UsageError is a setting of RunConfig that cannot be used.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Run starts a simulator with a guest in each of c.Rooms, prints how to
// connect a gateway to it on c.Out, and serves until ctx ends.
func Run(ctx context.Context, c RunConfig) error {
	rooms, err := ParseRooms(c.Rooms)
	if err != nil {
		return &UsageError{Msg: "--rooms: " + err.Error()}
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	s, err := Start(Options{Listen: c.Listen, Logger: c.Logger})
	if err != nil {
		return err
	}
	defer s.Close()
	for i, room := range rooms {
		s.CheckIn(room, "", fmt.Sprintf("Guest%d", i+1))
	}
	o := s.Options()
	fmt.Fprintf(c.Out, "OPERA Cloud (OHIP) simulator at %s, hotel %s, %d rooms in house\n", s.URL(), o.Hotel, len(rooms))
	fmt.Fprintf(c.Out, "pms: {protocol: opera-cloud, base_url: %q, property: %s,\n", s.URL(), o.Hotel)
	fmt.Fprintf(c.Out, "      auth: {client_id: %s, client_secret_file: FILE-HOLDING-%q, app_key: %s},\n", o.ClientID, o.ClientSecret, o.AppKey)
	fmt.Fprintf(c.Out, "      charge: {cashier_id: %q, transaction_codes: {international: %q, national: %q, local: %q, mobile: %q, premium: %q}}}\n",
		o.CashierID, o.Codes[0], o.Codes[1], o.Codes[2], o.Codes[3], o.Codes[4])
	<-ctx.Done()
	for _, ch := range s.Ledger() {
		fmt.Fprintf(c.Out, "charge %d: room %s reservation %s code %s %d %s ref %s\n", ch.TransactionNo, ch.Room, ch.Reservation, ch.Code, ch.AmountMinor, ch.Currency, ch.Reference)
	}
	return nil
}

// ParseRooms reads a room list like "101-160,201" (a range keeps the
// width of its first room: 0101-0103).
func ParseRooms(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		if !isRange {
			out = append(out, part)
			continue
		}
		a, err1 := strconv.Atoi(from)
		b, err2 := strconv.Atoi(to)
		if err1 != nil || err2 != nil || a > b || b-a > 10000 {
			return nil, fmt.Errorf("%q is not a range of room numbers like 101-160", part)
		}
		for n := a; n <= b; n++ {
			out = append(out, fmt.Sprintf("%0*d", len(from), n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rooms: give them like 101-160,201")
	}
	return out, nil
}
