package gatewaytest

import (
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// A call parser and rater for tests, with records a person can read: the
// engine's unit tests and adapters' tests that run the engine share them.

// Parser reads records like "out 101 4416 60": direction (out, in,
// int), extension, dialed number, seconds. "hdr …" is no call, "bad …" is
// unreadable.
type Parser struct{}

func (Parser) Parse(rec gateway.RawRecord) (gateway.Call, error) {
	f := strings.Fields(string(rec.Data))
	if len(f) > 0 && f[0] == "hdr" {
		return gateway.Call{}, gateway.ErrNotCall
	}
	if len(f) != 4 || f[0] == "bad" {
		return gateway.Call{}, gateway.Errorf(gateway.KindInvalid, "a test record has 4 fields")
	}
	dir := map[string]gateway.Direction{"out": gateway.Outgoing, "in": gateway.Incoming, "int": gateway.Internal}[f[0]]
	secs, err := strconv.Atoi(f[3])
	if err != nil || dir == "" {
		return gateway.Call{}, gateway.Errorf(gateway.KindInvalid, "bad direction or seconds")
	}
	start := rec.Received.UTC().Truncate(time.Second)
	return gateway.Call{Format: "test", Direction: dir, Extension: f[1], Dialed: f[2], DurationS: secs,
		Answered: gateway.Bool(secs > 0), Start: start, StartUTC: start, Raw: rec.Data}, nil
}

// Rater charges 10 minor units a second for answered outgoing calls;
// dialed "free" costs nothing, "unknown" is an unknown destination and
// "norate" cannot be rated.
type Rater struct{}

func (Rater) Rate(c gateway.Call) (gateway.Charge, error) {
	switch c.Dialed {
	case "norate":
		return gateway.Charge{}, gateway.Errorf(gateway.KindInvalid, "no rate for this call")
	case "unknown":
		ex := gateway.ExceptionUnknownDestination
		return gateway.Charge{Class: "unknown", Currency: "USD", Exception: &ex}, nil
	case "free":
		return gateway.Charge{Class: "free", Currency: "USD", Chargeable: true}, nil
	}
	ch := gateway.Charge{Class: "national", Destination: "Town", Currency: "USD", Chargeable: c.Direction == gateway.Outgoing && c.DurationS > 0}
	if ch.Chargeable {
		ch.TotalMinor = int64(c.DurationS) * 10
	}
	return ch, nil
}
