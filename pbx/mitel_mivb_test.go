package pbx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzMitelMiVB(f *testing.F) { fuzzFormat(f, "mitel-mivb") }

// h2Line is one record fed to a parser in a table test, read at received
// (site-local wall clock, New York) or, when empty, 2024-11-06T09:00:00.
type h2Line struct {
	received string
	line     string
}

// h2Parse runs lines through one parser of format (one stream) and returns
// the result of each.
func h2Parse(t *testing.T, format string, year int, lines []h2Line) ([]gateway.Call, []error) {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p := mustParser(t, format, Options{Location: loc, Year: year})
	var calls []gateway.Call
	var errs []error
	for _, l := range lines {
		r := l.received
		if r == "" {
			r = "2024-11-06T09:00:00"
		}
		clock, err := time.ParseInLocation(gateway.WallClockLayout, r, loc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Parse(gateway.RawRecord{Data: []byte(l.line), Received: clock})
		calls = append(calls, c)
		errs = append(errs, err)
	}
	return calls, errs
}

// h2Want is what a table test checks of a call; "-" in a string field means
// "absent" (""), nil answered means null.
type h2Want struct {
	start     string
	ext       string
	dialed    string
	dir       gateway.Direction
	trunk     string
	dur       int
	answered  *bool
	ring      *int
	callerID  string
	account   string
	cont      bool
	skip      bool   // ErrSkip expected
	errSubstr string // an error containing this expected
}

func h2Check(t *testing.T, i int, c gateway.Call, err error, w h2Want) {
	t.Helper()
	switch {
	case w.skip:
		if !errors.Is(err, ErrSkip) {
			t.Errorf("line %d: got %v, want ErrSkip", i, err)
		}
		return
	case w.errSubstr != "":
		if err == nil || !strings.Contains(err.Error(), w.errSubstr) {
			t.Errorf("line %d: error %v, want one containing %q", i, err, w.errSubstr)
		}
		return
	case err != nil:
		t.Errorf("line %d: %v", i, err)
		return
	}
	str := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	if got := c.Start.Format(gateway.WallClockLayout); got != w.start {
		t.Errorf("line %d: start %s, want %s", i, got, w.start)
	}
	if c.Extension != str(w.ext) || c.Dialed != str(w.dialed) || c.Direction != w.dir || c.Trunk != str(w.trunk) {
		t.Errorf("line %d: extension %q dialed %q direction %q trunk %q, want %q %q %q %q",
			i, c.Extension, c.Dialed, c.Direction, c.Trunk, str(w.ext), str(w.dialed), w.dir, str(w.trunk))
	}
	if c.DurationS != w.dur {
		t.Errorf("line %d: duration %d, want %d", i, c.DurationS, w.dur)
	}
	if (c.Answered == nil) != (w.answered == nil) || (c.Answered != nil && *c.Answered != *w.answered) {
		t.Errorf("line %d: answered %v, want %v", i, h2Ptr(c.Answered), h2Ptr(w.answered))
	}
	if (c.RingS == nil) != (w.ring == nil) || (c.RingS != nil && *c.RingS != *w.ring) {
		t.Errorf("line %d: ring %v, want %v", i, h2Ptr(c.RingS), h2Ptr(w.ring))
	}
	if c.CallerID != str(w.callerID) || c.AccountCode != str(w.account) || c.Continuation != w.cont {
		t.Errorf("line %d: caller id %q account %q continuation %v, want %q %q %v",
			i, c.CallerID, c.AccountCode, c.Continuation, str(w.callerID), str(w.account), w.cont)
	}
}

func h2Ptr[T any](p *T) any {
	if p == nil {
		return "null"
	}
	return *p
}

var (
	h2True  = gateway.Bool(true)
	h2False = gateway.Bool(false)
)

// TestMitelMiVBTable checks the tricky cases with explicit values: the
// 12-hour clock (noon, midnight, pm), a 24-hour PBX, year inference, the
// extended digit record, meter pulses, transfers, unanswered calls.
func TestMitelMiVBTable(t *testing.T) {
	// Each line is built column by column from the standard layout:
	// 1 flag, 2-6 date, 8-12 time, 13 P, 15-22 duration, 24-27 calling,
	// 29 attendant, 30-32 time to answer, 34-59 digits, 60 status, 62-65
	// called, 66 transfer, 68-71 third party, 73-84 account, 86-88 system.
	lines := []h2Line{
		{"", " 11/05 12:30  00:01:00 2101      96175550101               A T001                    002  "},
		{"", " 11/05 12:30P 00:01:00 2102      96175550102               A T001                    002  "},
		{"", " 11/05 12:00P 00:00:10 2103      96175550103               B T001                    002  "},
		{"", " 11/05 11:59P 00:02:00 2104      96175550104                 T001       123456789012 002  "},
		{"", " 11/05 01:05  00:02:00 T021  012 4400                        2105T 2106              002  "},
		{"", " 11/05 01:06  00:00:00 T021  *** 4400                        2105T 2106              002  "},
		{"", " 11/05 01:07  00:03:00 T021  003                             2105C 2107              002  "},
		{"", "-11/05 01:08  00:05:00 2108      96175550108          00042A T002                    002  "},
		{"", " 11/05 01:09  00:05:00 2109      61755501091234567890123456A T002                    002  "},
		{"", " 11/05 01:10  00:00:12 2110  000 2111                      I 2111                    002  "},
		// extended digit length: 7-character parties, hhhh:mm:ss
		{"", "+11/05 01:00  0012:34:56 4151235      90114416329607771234567   A T0022            88           002  "},
		// start time with seconds
		{"", " 11/05 06:40:15P 00:01:35 415       6175550134                A T021       77           002  "},
		// year rollover: read on New Year's morning
		{"2025-01-01T00:20:00", " 12/31 11:50P 00:20:00 2101      96175550101               A T001                    002  "},
		{"", ""},
		{"", " 11/05 06:40P 00:01:35"},
	}
	want := []h2Want{
		{start: "2024-11-05T00:30:00", ext: "2101", dialed: "96175550101", dir: gateway.Outgoing, trunk: "T001", dur: 60, answered: h2True},
		{start: "2024-11-05T12:30:00", ext: "2102", dialed: "96175550102", dir: gateway.Outgoing, trunk: "T001", dur: 60, answered: h2True},
		{start: "2024-11-05T12:00:00", ext: "2103", dialed: "96175550103", dir: gateway.Outgoing, trunk: "T001", dur: 0, answered: h2False},
		{start: "2024-11-05T23:59:00", ext: "2104", dialed: "96175550104", dir: gateway.Outgoing, trunk: "T001", dur: 120, account: "123456789012"},
		{start: "2024-11-05T01:05:00", ext: "2106", dialed: "4400", dir: gateway.Incoming, trunk: "T021", dur: 120, answered: h2True, ring: gateway.Int(12)},
		{start: "2024-11-05T01:06:00", ext: "2105", dialed: "4400", dir: gateway.Incoming, trunk: "T021", dur: 0, answered: h2False},
		{start: "2024-11-05T01:07:00", ext: "2105", dialed: "-", dir: gateway.Incoming, trunk: "T021", dur: 180, answered: h2True, ring: gateway.Int(3)},
		{start: "2024-11-05T01:08:00", ext: "2108", dialed: "96175550108", dir: gateway.Outgoing, trunk: "T002", dur: 300, answered: h2True},
		{start: "2024-11-05T01:09:00", ext: "2109", dialed: "61755501091234567890123456", dir: gateway.Outgoing, trunk: "T002", dur: 300, answered: h2True},
		{start: "2024-11-05T01:10:00", ext: "2110", dialed: "2111", dir: gateway.Internal, trunk: "-", dur: 12, answered: h2True, ring: gateway.Int(0)},
		{start: "2024-11-05T01:00:00", ext: "4151235", dialed: "90114416329607771234567", dir: gateway.Outgoing, trunk: "T0022", dur: 45296, answered: h2True, account: "88"},
		{start: "2024-11-05T18:40:15", ext: "415", dialed: "6175550134", dir: gateway.Outgoing, trunk: "T021", dur: 95, answered: h2True, account: "77"},
		{start: "2024-12-31T23:50:00", ext: "2101", dialed: "96175550101", dir: gateway.Outgoing, trunk: "T001", dur: 1200, answered: h2True},
		{skip: true},
		{errSubstr: "mitel-mivb: "},
	}
	calls, errs := h2Parse(t, "mitel-mivb", 0, lines)
	for i := range lines {
		h2Check(t, i, calls[i], errs[i], want[i])
	}
}

// TestMitelMiVB24Hour: once a record shows hour 00 or 13-23 without P, the
// PBX prints a 24-hour clock and 12:xx is noon.
func TestMitelMiVB24Hour(t *testing.T) {
	lines := []h2Line{
		{"", " 11/05 00:15  00:01:00 2101      96175550101               A T001                    002  "},
		{"", " 11/05 12:30  00:01:00 2102      96175550102               A T001                    002  "},
		{"", " 11/05 13:45  00:01:00 2103      96175550103               A T001                    002  "},
	}
	starts := []string{"2024-11-05T00:15:00", "2024-11-05T12:30:00", "2024-11-05T13:45:00"}
	calls, errs := h2Parse(t, "mitel-mivb", 0, lines)
	for i := range lines {
		if errs[i] != nil {
			t.Fatalf("line %d: %v", i, errs[i])
		}
		if got := calls[i].Start.Format(gateway.WallClockLayout); got != starts[i] {
			t.Errorf("line %d: start %s, want %s", i, got, starts[i])
		}
	}
}
