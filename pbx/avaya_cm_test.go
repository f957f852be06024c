package pbx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzAvayaCM(f *testing.F) { fuzzFormat(f, "avaya-cm") }

// cmLine builds a default-layout record from field values (right-justified,
// one blank between fields), as CM prints it.
func cmLine(v map[string]string) string {
	var b strings.Builder
	for _, f := range DefaultCMFields() {
		if cmItems[f.Name].control {
			break
		}
		if f.Name == "space" {
			b.WriteByte(' ')
			continue
		}
		val := v[f.Name]
		if len(val) > f.Width {
			panic(f.Name + " too wide")
		}
		b.WriteString(strings.Repeat(" ", f.Width-len(val)) + val)
	}
	return b.String()
}

type cmCase struct {
	name string
	line string
	want gateway.Call // the fields checkCall compares
}

func TestAvayaCMDefaultLayout(t *testing.T) {
	l := compileCM(DefaultCMFields())
	for _, tc := range []struct {
		name     string
		got      cmSpan
		from, to int
	}{
		{"date", l.date, 1, 6}, {"time", l.time, 8, 11}, {"sec-dur", l.secDur, 13, 17}, {"cond-code", l.cond, 19, 19},
		{"code-dial", l.codeDial, 21, 24}, {"code-used", l.codeUsed, 26, 29}, {"dialed-num", l.dialed, 31, 48},
		{"calling-num", l.calling, 50, 59}, {"auth-code", l.auth, 61, 67}, {"in-crt-id", l.inCrt, 69, 71},
		{"out-crt-id", l.outCrt, 73, 75}, {"acct-code", l.acct, 95, 109}, {"in-trk-code", l.inTrk, 111, 114},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.from != tc.from || tc.got.to != tc.to {
				t.Errorf("%s at %d-%d, want %d-%d", tc.name, tc.got.from, tc.got.to, tc.from, tc.to)
			}
		})
	}
	if l.length != 123 || len(l.seps) != 16 {
		t.Errorf("length %d with %d separators, want 123 and 16", l.length, len(l.seps))
	}
	if probs := CheckCMFields(DefaultCMFields()); probs != nil {
		t.Errorf("default layout has problems: %v", probs)
	}
	// The shared sample lines are this layout, column for column.
	line := "110524 1934 00240 7    9  101         6175550188        300             011           0     0              88              "
	if got := cmLine(map[string]string{"date": "110524", "time": "1934", "sec-dur": "00240", "cond-code": "7", "code-dial": "9",
		"code-used": "101", "dialed-num": "6175550188", "calling-num": "300", "out-crt-id": "011", "isdn-cc": "0", "ppm": "0",
		"acct-code": "88"}); got != line {
		t.Errorf("layout differs from the sample:\n got %q\nwant %q", got, line)
	}
}

func TestAvayaCMRecords(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, ny)
	wall := func(s string) time.Time {
		tm, err := time.Parse(gateway.WallClockLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	out := func(ext, dialed, start string, dur int, trunk string) gateway.Call {
		return gateway.Call{Extension: ext, Dialed: dialed, Start: wall(start), DurationS: dur, Direction: gateway.Outgoing,
			Trunk: trunk, Answered: gateway.Bool(dur > 0)}
	}
	tests := []cmCase{
		{"sample outgoing: end 18:42 minus 95 s, # stripped, trunk = code-used",
			"110524 1842 00095 7    9  101        6175550134#        415             011           0     0                              ",
			out("415", "6175550134", "2024-11-05T18:40:25", 95, "101")},
		{"abandoned H: duration is ring time, start = end - ring",
			"110524 1901 00018 H                          200 6175550199         021               0     0                  111         ",
			gateway.Call{Extension: "200", Start: wall("2024-11-05T19:00:42"), Direction: gateway.Incoming, Trunk: "111",
				CallerID: "6175550199", RingS: gateway.Int(18), Answered: gateway.Bool(false)}},
		{"incoming without CLI: calling-num is the TAC, caller id null",
			cmLine(map[string]string{"date": "110524", "time": "1509", "sec-dur": "00003", "cond-code": "9", "dialed-num": "122",
				"calling-num": "102", "in-crt-id": "002", "in-trk-code": "102"}),
			gateway.Call{Extension: "122", Start: wall("2024-11-05T15:08:57"), DurationS: 3, Direction: gateway.Incoming,
				Trunk: "102", Answered: gateway.Bool(true)}},
		{"intra-switch 0",
			cmLine(map[string]string{"date": "110524", "time": "0000", "sec-dur": "00061", "cond-code": "0", "dialed-num": "201", "calling-num": "415"}),
			gateway.Call{Extension: "415", Dialed: "201", Start: wall("2024-11-04T23:58:59"), DurationS: 61,
				Direction: gateway.Internal, Answered: gateway.Bool(true)}},
		{"busy I: unanswered, direction from the incoming trunk",
			cmLine(map[string]string{"date": "110524", "time": "1200", "sec-dur": "00000", "cond-code": "I", "dialed-num": "415",
				"calling-num": "6175550177", "in-crt-id": "006", "in-trk-code": "111"}),
			gateway.Call{Extension: "415", Start: wall("2024-11-05T12:00:00"), Direction: gateway.Incoming, Trunk: "111",
				CallerID: "6175550177", Answered: gateway.Bool(false)}},
		{"conference C is a continuation, auth code as account",
			cmLine(map[string]string{"date": "110524", "time": "1200", "sec-dur": "00060", "cond-code": "C", "code-dial": "9",
				"code-used": "101", "dialed-num": "6175550105", "calling-num": "417", "auth-code": "4321", "out-crt-id": "008"}),
			gateway.Call{Extension: "417", Dialed: "6175550105", Start: wall("2024-11-05T11:59:00"), DurationS: 60,
				Direction: gateway.Outgoing, Trunk: "101", AccountCode: "4321", Answered: gateway.Bool(true), Continuation: true}},
		{"2-digit year: 123123 is 2023, not inferred from the clock",
			cmLine(map[string]string{"date": "123123", "time": "2359", "sec-dur": "00120", "cond-code": "7", "code-used": "101",
				"dialed-num": "6175550134", "calling-num": "415"}),
			out("415", "6175550134", "2023-12-31T23:57:00", 120, "101")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "avaya-cm", Options{Location: ny})
			c := mustParse(t, p, tc.line, clock)
			checkCall(t, c, tc.want)
		})
	}
}

// checkCall compares the fields of a parsed call that the tables assert.
// mustParser returns the parser of a format, failing the test if there is
// none.
func mustParser(t testing.TB, format string, o Options) *Parser {
	t.Helper()
	p, err := NewParser(format, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustParse parses one record read at clock, failing the test if it is not
// a call.
func mustParse(t testing.TB, p *Parser, line string, clock time.Time) gateway.Call {
	t.Helper()
	c, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return c
}

func checkCall(t *testing.T, got, want gateway.Call) {
	t.Helper()
	if !got.Start.Equal(want.Start) {
		t.Errorf("start %s, want %s", got.Start.Format(gateway.WallClockLayout), want.Start.Format(gateway.WallClockLayout))
	}
	if !want.StartUTC.IsZero() && !got.StartUTC.Equal(want.StartUTC) {
		t.Errorf("start_utc %s, want %s", got.StartUTC, want.StartUTC)
	}
	type pair struct {
		name      string
		got, want any
	}
	b := func(p *bool) any {
		if p == nil {
			return nil
		}
		return *p
	}
	i := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	for _, f := range []pair{
		{"time_note", got.TimeNote, want.TimeNote}, {"duration_s", got.DurationS, want.DurationS},
		{"direction", got.Direction, want.Direction}, {"extension", got.Extension, want.Extension},
		{"dialed", got.Dialed, want.Dialed}, {"trunk", got.Trunk, want.Trunk},
		{"account_code", got.AccountCode, want.AccountCode}, {"caller_id", got.CallerID, want.CallerID},
		{"ring_s", i(got.RingS), i(want.RingS)}, {"answered", b(got.Answered), b(want.Answered)},
		{"continuation", got.Continuation, want.Continuation}, {"call_id", got.CallID, want.CallID},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

func TestAvayaCMStream(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := mustParser(t, "avaya-cm", Options{Location: ny})
	parse := func(line string, clock time.Time) (gateway.Call, error) {
		return p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
	}
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, ny)
	for i, skip := range []string{"18:41 11/05", "\x00\x00\x0018:41 11/05", "", "   ", "\x00\x00\x00",
		cmLine(map[string]string{"date": "110524", "time": "1512", "sec-dur": "00002", "cond-code": "G", "dialed-num": "6100",
			"calling-num": "7876502919", "in-crt-id": "001", "in-trk-code": "102", "vdn": "6100"})} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := parse(skip, clock); !errors.Is(err, ErrSkip) {
				t.Errorf("%q: %v, want ErrSkip", skip, err)
			}
		})
	}
	// Long call: the interim record (4) and the final one are continuations;
	// the next call on the same circuit is not.
	rec := func(tm, dur, cond string) string {
		return cmLine(map[string]string{"date": "110524", "time": tm, "sec-dur": dur, "cond-code": cond, "code-dial": "9",
			"code-used": "101", "dialed-num": "6175550155", "calling-num": "418", "out-crt-id": "009"})
	}
	for i, tc := range []struct {
		line  string
		cont  bool
		start string
	}{
		{rec("2000", "36000", "4"), true, "2024-11-05T10:00:00"},
		{rec("2021", "01234", "7"), true, "2024-11-05T20:00:26"},
		{rec("2030", "00060", "7"), false, "2024-11-05T20:29:00"},
	} {
		t.Run(fmt.Sprint("record ", i), func(t *testing.T) {
			c, err := parse(tc.line, clock)
			if err != nil {
				t.Fatal(err)
			}
			if c.Continuation != tc.cont || c.Start.Format(gateway.WallClockLayout) != tc.start {
				t.Errorf("record %d: continuation %v start %s, want %v %s", i, c.Continuation, c.Start.Format(gateway.WallClockLayout), tc.cont, tc.start)
			}
		})
	}
	// Clock changed during the call.
	if _, err := parse(rec("2100", "09999", "7"), clock); err == nil || !strings.Contains(err.Error(), "clock was changed") {
		t.Errorf("9999: %v", err)
	}
	// DST: the subtraction is done on the instant.
	c, err := parse(cmLine(map[string]string{"date": "031024", "time": "0310", "sec-dur": "01800", "cond-code": "0",
		"dialed-num": "201", "calling-num": "415"}), clock)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Start.Format(gateway.WallClockLayout); got != "2024-03-10T01:40:00" || c.StartUTC != time.Date(2024, 3, 10, 6, 40, 0, 0, time.UTC) || c.TimeNote != "" {
		t.Errorf("spring forward: start %s utc %s note %q, want 01:40 EST", got, c.StartUTC, c.TimeNote)
	}
	c, err = parse(cmLine(map[string]string{"date": "110324", "time": "0110", "sec-dur": "00600", "cond-code": "0",
		"dialed-num": "201", "calling-num": "415"}), clock)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Start.Format(gateway.WallClockLayout); got != "2024-11-03T01:00:00" || c.TimeNote != gateway.TimeNoteDSTOverlap {
		t.Errorf("fall back: start %s note %q", got, c.TimeNote)
	}
	// Malformed records.
	for i, bad := range []string{
		"110524 18",
		cmLine(map[string]string{"date": "023024", "time": "1200", "sec-dur": "00010", "cond-code": "7", "dialed-num": "1", "calling-num": "2"}),
		cmLine(map[string]string{"date": "110524", "time": "1260", "sec-dur": "00010", "cond-code": "7", "dialed-num": "1", "calling-num": "2"}),
		cmLine(map[string]string{"date": "110524", "time": "1200", "sec-dur": "0 010", "cond-code": "7", "dialed-num": "1", "calling-num": "2"}),
		cmLine(map[string]string{"date": "110524", "time": "1200", "sec-dur": "00010", "cond-code": "#", "dialed-num": "1", "calling-num": "2"}),
		" " + cmLine(map[string]string{"date": "110524", "time": "1200", "sec-dur": "00010", "cond-code": "7", "dialed-num": "1", "calling-num": "2"}),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := parse(bad, clock); err == nil || errors.Is(err, ErrSkip) || gateway.KindOf(err) != gateway.KindInvalid {
				t.Errorf("%q: %v, want an invalid-record error", bad, err)
			}
		})
	}
}

func TestAvayaCMUndated(t *testing.T) {
	fields := []CMField{{"time", 4}, {"space", 1}, {"sec-dur", 5}, {"space", 1}, {"cond-code", 1}, {"space", 1},
		{"dialed-num", 10}, {"space", 1}, {"calling-num", 5}, {"return", 1}, {"line-feed", 1}}
	ny, _ := time.LoadLocation("America/New_York")
	rec := "2359 00120 0        201   415"
	for _, tc := range []struct {
		name   string
		date   string // a date record before the call, or ""
		clock  time.Time
		start  string
		forced int
	}{
		{"clock's day", "", time.Date(2024, 11, 6, 23, 59, 30, 0, ny), "2024-11-06T23:57:00", 0},
		{"read after midnight: the day before", "", time.Date(2025, 1, 1, 0, 5, 0, 0, ny), "2024-12-31T23:57:00", 0},
		{"date record's day", "23:00 12/31", time.Date(2025, 1, 1, 0, 5, 0, 0, ny), "2024-12-31T23:57:00", 0},
		{"forced year", "23:00 12/31", time.Date(2025, 1, 1, 0, 5, 0, 0, ny), "2019-12-31T23:57:00", 2019},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "avaya-cm", Options{Location: ny, CMFields: fields, Year: tc.forced})
			if tc.date != "" {
				if _, err := p.Parse(gateway.RawRecord{Data: []byte(tc.date), Received: tc.clock}); !errors.Is(err, ErrSkip) {
					t.Fatalf("date record: %v", err)
				}
			}
			c := mustParse(t, p, rec, tc.clock)
			if got := c.Start.Format(gateway.WallClockLayout); got != tc.start {
				t.Errorf("start %s, want %s", got, tc.start)
			}
		})
	}
}

func TestCheckCMFields(t *testing.T) {
	def := DefaultCMFields()
	with := func(edit func([]CMField) []CMField) []CMField {
		return edit(append([]CMField(nil), def...))
	}
	tests := []struct {
		name   string
		fields []CMField
		field  string // expected FieldProblem.Field of the first problem
		msg    string // substring of its message
	}{
		{"unknown name", with(func(f []CMField) []CMField { f[4].Name = "secdur"; return f }), "[4].name", "not a data item"},
		{"fixed width", with(func(f []CMField) []CMField { f[0].Width = 8; return f }), "[0].width", "always 6"},
		{"zero width", with(func(f []CMField) []CMField { f[12].Width = 0; return f }), "[12].width", "width 0"},
		{"too wide", with(func(f []CMField) []CMField { f[12].Width = 99; return f }), "[12].width", "width 99"},
		{"duplicate", with(func(f []CMField) []CMField { f[14].Name = "dialed-num"; return f }), "[14].name", "listed twice"},
		{"data after line-feed", with(func(f []CMField) []CMField { return append(f, CMField{"vdn", 5}) }), "[35].name", "after return"},
		{"no return or line-feed", with(func(f []CMField) []CMField { return f[:len(f)-2] }), "", "no return or line-feed"},
		{"no time", with(func(f []CMField) []CMField { f[2].Name = "space"; f[2].Width = 4; return f }), "", "no time item"},
		{"no calling-num", with(func(f []CMField) []CMField { f[14].Name = "space"; return f }), "", "no calling-num"},
		{"no duration", with(func(f []CMField) []CMField { f[4].Name = "clg-num/in-tac"; return f }), "", "no sec-dur"},
		{"empty name", with(func(f []CMField) []CMField { f[6].Name = " "; return f }), "[6].name", "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probs := CheckCMFields(tc.fields)
			if len(probs) == 0 {
				t.Fatal("no problem found")
			}
			if probs[0].Field != tc.field || !strings.Contains(probs[0].Msg, tc.msg) {
				t.Errorf("first problem %+v, want field %q and %q", probs[0], tc.field, tc.msg)
			}
			if _, err := NewParser("avaya-cm", Options{CMFields: tc.fields}); err == nil {
				t.Error("NewParser accepted the layout")
			}
		})
	}
	// Spelling variants CM allows, and an empty list (the default).
	ok := with(func(f []CMField) []CMField { f[6].Name = "COND_CODE"; return f })
	if probs := CheckCMFields(ok); probs != nil {
		t.Errorf("COND_CODE: %v", probs)
	}
	if probs := CheckCMFields(nil); probs != nil {
		t.Errorf("nil: %v", probs)
	}
	if probs := CheckCMFields([]CMField{}); probs != nil {
		t.Errorf("empty: %v", probs)
	}
}

func TestAvayaCMTAC(t *testing.T) {
	for _, tc := range []struct {
		calling, inTrk string
		have, tac      bool
	}{
		{"111", "111", true, true},
		{"6175550199", "111", true, false},
		{"1234", "111", true, false}, // a short calling number that is not the TAC
		{"", "111", true, true},
		{"111", "", false, true}, // no in-trk-code in the layout: 4 digits or fewer is a TAC
		{"12345", "", false, false},
	} {
		t.Run(tc.calling+" "+tc.inTrk, func(t *testing.T) {
			if got := CMIsTAC(tc.calling, tc.inTrk, tc.have); got != tc.tac {
				t.Errorf("CMIsTAC(%q, %q, %v) = %v", tc.calling, tc.inTrk, tc.have, got)
			}
		})
	}
}
