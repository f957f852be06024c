// Package pbx reads call records from PBXs: the transports (serial, TCP listen,
// TCP dial, file), the framing of a byte stream into records, the silence
// watchdog, and one parser per PBX record format, each turning a raw record
// into a normalized gateway.Call.
//
// Parsers are pure: no I/O, no logging, no goroutines. A parser may keep state
// between records of one stream (a page header's year, a CUCM header row), so
// each stream gets its own parser from NewParser.
package pbx

import (
	"errors"
	"sort"
	"strings"
	"time"

	"callgate/gateway"
)

// ErrSkip is returned by Parser.Parse for a line that is not a call record: a
// header, a page title, a summary, an information-only line. Such lines produce
// nothing.
var ErrSkip = gateway.ErrNotCall

// Options configures a parser for one site.
type Options struct {
	// Location is the site's time zone: the PBX prints wall-clock time in it.
	// Nil means UTC.
	Location *time.Location
	// Year, when not 0, is the year of every record of a format that prints no
	// year, instead of inferring it from the reading clock.
	Year int
	// Template is the layout for the "template" format.
	Template *Template
	// CMFields is the field list of an Avaya CM "customized" CDR format, as the
	// CDR system-parameters form defines it; nil means the default layout.
	CMFields []CMField
}

// recordParser is what each format implements. parse gets the record's bytes
// and the reading clock (when the record was received, in the site's zone) and
// returns the call with Start (wall clock) or StartUTC (for formats that print
// UTC) set; Parser fills in the rest. It returns ErrSkip for non-call lines and
// any other error for a line that should be a call but cannot be read.
type recordParser interface {
	parse(line []byte, clock time.Time) (gateway.Call, error)
}

// Format describes one PBX record format.
type Format struct {
	Name        string // as in the config's pbx.format and `gateway parse --format`
	Description string // one line for `gateway formats`
	// Settings is what an installer sets on the PBX so that it prints this
	// format: port, baud, record options.
	Settings string
	// LengthPrefixed: the PBX's socket may send 4-byte length-prefixed frames.
	LengthPrefixed bool
	newParser      func(Options) (recordParser, error)
}

// Formats returns every format, sorted by name.
func Formats() []Format {
	fs := append([]Format(nil), formats...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	return fs
}

// FormatNames returns the names of every format, sorted, for messages.
func FormatNames() []string {
	var names []string
	for _, f := range Formats() {
		names = append(names, f.Name)
	}
	return names
}

// LookupFormat returns the format called name.
func LookupFormat(name string) (Format, error) {
	for _, f := range formats {
		if f.Name == name {
			return f, nil
		}
	}
	return Format{}, gateway.Errorf(gateway.KindInvalid, "unknown PBX format %q: use one of %s", name, strings.Join(FormatNames(), ", "))
}

// Parser turns the raw records of one stream into calls.
type Parser struct {
	format Format
	loc    *time.Location
	rp     recordParser
}

// NewParser returns a parser for the format called name.
func NewParser(name string, opts Options) (*Parser, error) {
	f, err := LookupFormat(name)
	if err != nil {
		return nil, err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	rp, err := f.newParser(opts)
	if err != nil {
		return nil, err
	}
	return &Parser{format: f, loc: opts.Location, rp: rp}, nil
}

// Format returns the parser's format.
func (p *Parser) Format() Format { return p.format }

// Parse reads one record. It returns the call; ErrSkip for a line that is not
// a call record; or an error of kind invalid that says why the record cannot
// be read. rec.Received is the reading clock: it dates records whose format
// prints no year or no date. Parse never panics, whatever the bytes.
func (p *Parser) Parse(rec gateway.RawRecord) (c gateway.Call, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A parser bug must cost one record, never the gateway.
			c, err = gateway.Call{}, gateway.Errorf(gateway.KindInternal, "%s parser failed on this record: %v", p.format.Name, r)
		}
	}()
	if rec.Truncated {
		return gateway.Call{}, gateway.Errorf(gateway.KindInvalid, "record longer than %d bytes was cut: not parsed", DefaultMaxRecord)
	}
	if rec.Cut {
		return gateway.Call{}, gateway.Errorf(gateway.KindInvalid, "the PBX link was lost before this record's line end, so it may be cut short: not charged (a copy the PBX sends again whole is)")
	}
	clock := rec.Received
	if clock.IsZero() {
		clock = time.Now()
	}
	c, err = p.rp.parse(rec.Data, clock.In(p.loc))
	if err != nil {
		if errors.Is(err, ErrSkip) {
			return gateway.Call{}, ErrSkip
		}
		if gateway.KindOf(err) == gateway.KindInternal {
			err = gateway.Wrap(gateway.KindInvalid, err, p.format.Name)
		}
		return gateway.Call{}, err
	}
	c.Format = p.format.Name
	c.Raw = append([]byte(nil), rec.Data...)
	if err := p.finish(&c); err != nil {
		return gateway.Call{}, err
	}
	return c, nil
}

// finish fills the start that the format did not print (wall clock from UTC or
// UTC from wall clock) and checks what every call must have.
func (p *Parser) finish(c *gateway.Call) error {
	switch {
	case !c.Start.IsZero():
		c.StartUTC, c.TimeNote = Instant(c.Start, p.loc)
	case !c.StartUTC.IsZero():
		c.StartUTC = c.StartUTC.UTC()
		c.Start = WallClock(c.StartUTC.In(p.loc))
	default:
		return gateway.Errorf(gateway.KindInvalid, "%s: record has no start time", p.format.Name)
	}
	if c.DurationS < 0 {
		return gateway.Errorf(gateway.KindInvalid, "%s: negative duration %d s", p.format.Name, c.DurationS)
	}
	if c.RingS != nil && *c.RingS < 0 {
		return gateway.Errorf(gateway.KindInvalid, "%s: negative ring time %d s", p.format.Name, *c.RingS)
	}
	if !c.Direction.Valid() {
		return gateway.Errorf(gateway.KindInternal, "%s parser gave direction %q", p.format.Name, c.Direction)
	}
	if c.Direction == gateway.Outgoing {
		if i := undialable(c.Dialed); i >= 0 {
			return gateway.Errorf(gateway.KindInvalid, "%s: the dialed number has %q at character %d, which no telephone dials (digits, *, #, ? and a leading + only): not a call; the record is kept as it came",
				p.format.Name, c.Dialed[i], i+1)
		}
	}
	if c.Answered != nil && !*c.Answered {
		c.DurationS = 0
	}
	if c.Direction != gateway.Incoming {
		c.CallerID = ""
	}
	return nil
}

// undialable returns the index of the first byte of an outgoing call's
// dialed number that no telephone dials, or -1. Dialable are digits, '*',
// '#', '?' (HiPath's digit withheld for privacy) and a leading '+'. Text,
// '=' or '@' there is a forged or misread record, not a call: refusing it
// here makes it a parse exception with its raw record (docs/pbx-formats.md,
// docs/design.md "CSV exports").
func undialable(s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '*', c == '#', c == '?':
		case c == '+' && i == 0:
		default:
			return i
		}
	}
	return -1
}

func errorf(format string, args ...any) error {
	return gateway.Errorf(gateway.KindInvalid, format, args...)
}

// FieldProblem is one thing wrong with an installer-written layout (a template
// or a CM field list), for `gateway check` to report with the config key.
type FieldProblem struct {
	Field string // the yaml key path under the layout, e.g. "fields.dialed.column"
	Msg   string // a plain sentence: what is wrong and what would be valid
}
