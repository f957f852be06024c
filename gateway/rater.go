package gateway

import (
	"errors"
	"time"
)

// ErrNotCall is returned by a RecordParser for a line that is not a call
// record: a header, a page title, a summary, an information-only line.
var ErrNotCall = errors.New("not a call record")

// RecordParser turns the raw records of one PBX stream into calls. Parse
// returns:
//  1. the call and nil;
//  2. ErrNotCall for a line that is not a call record (it is journaled and
//     skipped, not an exception);
//  3. an error of kind invalid saying why a line that should be a call cannot
//     be read (the entry becomes an exception with that reason).
//
// Parse never panics. A RecordParser may keep state between records of its
// stream, so each stream has its own and it is not safe for concurrent use.
type RecordParser interface {
	Parse(RawRecord) (Call, error)
}

// Rater prices calls: the tariff in force. Rate returns the charge, with
// rating exceptions (unknown destination, …) inside it; an error only for a
// call the tariff cannot price at all (kind invalid). A Rater is safe for
// concurrent use and never changes: a reload makes a new one.
type Rater interface {
	Rate(Call) (Charge, error)
}

// TariffView is the tariff in force as the console shows it: its summary,
// its destinations and rates, and rating a call someone tries. Package
// tariff implements it.
type TariffView interface {
	Rater
	// Summary describes the tariff in a few lines: currency, rounding,
	// bands, holidays, editions.
	Summary() string
	// Destinations lists the destinations of the edition in force at the
	// wall-clock time at, by prefix.
	Destinations(at time.Time) []TariffDestination
}

// TariffDestination is one destination of a tariff edition, with its
// carrier rates in minor units of Currency.
type TariffDestination struct {
	Prefix, Name, Class string
	Edition             string // "base" or the edition's effective_from
	Currency            string
	Rates               []BandRate // per minute, by band
	FirstS, NextS       int        // billing increments in seconds
	SetupMinor          int64
	MinimumMinor        int64
}

// BandRate is a destination's carrier rate in one time band.
type BandRate struct {
	Band           string
	PerMinuteMinor int64
}
