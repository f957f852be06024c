package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Direction is which way a call went relative to the hotel.
type Direction string

// The three directions a call can have.
const (
	Outgoing Direction = "out"      // to the public network
	Incoming Direction = "in"       // from the public network
	Internal Direction = "internal" // station to station
)

// Valid reports whether d is one of the three directions.
func (d Direction) Valid() bool {
	return d == Outgoing || d == Incoming || d == Internal
}

// WallClockLayout is how a PBX's local wall-clock time is written in JSON and in
// the journal: no zone, seconds resolution.
const WallClockLayout = "2006-01-02T15:04:05"

// Time notes set on a Call whose wall-clock start could not be mapped to exactly
// one instant in the site's time zone.
const (
	// TimeNoteDSTGap: the printed time does not exist in the site's zone (the
	// clocks jumped over it); the instant is taken as if the clocks had not yet
	// jumped.
	TimeNoteDSTGap = "dst-gap"
	// TimeNoteDSTOverlap: the printed time happened twice (the clocks went back);
	// the earlier instant is taken.
	TimeNoteDSTOverlap = "dst-overlap"
)

// Call is one call record from the PBX, normalized. Its JSON form is the
// "The normalized call" of docs/design.md: the output of `gateway parse` and the input of
// `gateway rate`.
//
// Optional text fields use "" for "absent" and are written as JSON null.
type Call struct {
	// Format is the name of the parser that read the record ("avaya-ipo").
	Format string
	// Extension is the internal party charged or attributed: the caller for
	// outgoing and internal calls, the answering (final) extension for incoming.
	Extension string
	// Dialed is the number as the record carries it, decorations removed. For
	// internal calls the called extension; for incoming calls the DID/DDI digits
	// where the format has them.
	Dialed string
	// Start is the local wall-clock start as the PBX printed it (or derived
	// from an end stamp), with no zone: its Location is always time.UTC and
	// means nothing. See StartUTC for the instant.
	Start time.Time
	// StartUTC is the instant of Start in the site's time zone (or, for formats
	// that print UTC, the instant printed).
	StartUTC time.Time
	// TimeNote is "" or one of the TimeNote constants.
	TimeNote string
	// DurationS is connected (billable) seconds; 0 when unanswered.
	DurationS int
	// Direction is out, in or internal.
	Direction Direction
	// Trunk is the trunk, line or route identifier exactly as printed.
	Trunk string
	// AccountCode is the account, authorization or bill code.
	AccountCode string
	// Answered is nil only where the format cannot tell.
	Answered *bool
	// CallerID is the external calling number of incoming calls.
	CallerID string
	// RingS is ring seconds where printed, else nil.
	RingS *int
	// CallID is the PBX's identifier for the call where the format has one;
	// all segments of one call share it.
	CallID string
	// Continuation marks a record that is one segment of a multi-record call
	// (a transfer, a continuation line) rather than a whole call; CallID names
	// the call it belongs to.
	Continuation bool
	// Raw is the record exactly as framed from the PBX stream.
	Raw []byte
}

var yes, no = true, false

// Bool returns a pointer to b, for Call.Answered. The pointer is shared by
// every call with the same value, so no record costs an allocation for it:
// read through it, never write.
func Bool(b bool) *bool {
	if b {
		return &yes
	}
	return &no
}

// Int returns a pointer to n, for Call.RingS.
func Int(n int) *int { return &n }

// MarshalJSON writes the call as the normalized call of docs/design.md.
func (c Call) MarshalJSON() ([]byte, error) {
	return AppendCallJSON(nil, &c, true), nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// MarshalPlain is json.Marshal without the escaping of <, > and & that is
// meant for HTML: a PBX record such as `a<b&c` reads in the JSON as printed.
func MarshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON reads a normalized call. It checks what a rater relies on: a
// valid direction, a wall-clock start and a non-negative duration.
func (c *Call) UnmarshalJSON(b []byte) error { return decodeCallJSON(b, c) }

// String gives a short description for logs, with the dialed number masked.
func (c Call) String() string {
	return fmt.Sprintf("%s call ext %s to %s at %s, %ds", c.Direction, c.Extension, MaskNumber(c.Dialed), c.Start.Format(WallClockLayout), c.DurationS)
}

// MaskNumber hides all but the first four digits of a dialed number, enough to
// see the destination country or area in logs without exposing whom a guest
// called. Full numbers are logged at debug level only.
func MaskNumber(s string) string {
	const keep = 4
	if len(s) <= keep {
		return s
	}
	b := []byte(s)
	for i := keep; i < len(b); i++ {
		b[i] = 'x'
	}
	return string(b)
}
