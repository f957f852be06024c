package pbx

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"callgate/gateway"
)

// testTemplate is a layout used by the template format's fuzz target: the
// made-up "Acme 300" layout of testdata/template/acme.opts.yaml (semicolon
// CSV, end-stamped, date, time, ring, direction markers, status markers).
func testTemplate() *Template {
	f := func(n int) TemplateField { return TemplateField{Field: n} }
	return &Template{
		Layout:    "csv",
		Separator: ";",
		Fields: TemplateFields{
			Date: f(1), Time: f(2), Extension: f(3), Trunk: f(4), Dialed: f(5), Duration: f(6), Ring: f(7),
			Direction: f(8), AccountCode: f(9), CallerID: f(10), Status: f(11), CallID: f(12),
		},
		DateFormat:       "DD.MM.YY",
		TimeFormat:       "hh:mm:ss",
		DurationFormat:   "hh:mm:ss",
		RingFormat:       "mm:ss",
		TimeIs:           "end",
		DirectionMarkers: map[string]string{"O": "out", "I": "in", "L": "internal"},
		Unanswered:       []string{"NOANS", "BUSY"},
		Skip:             []string{"Total calls"},
		SkipPrefixes:     []string{"Date;"},
	}
}

func FuzzTemplate(f *testing.F) { fuzzFormat(f, "template") }

// The fuzz layout is the one the golden case reads with, as the config
// loader would decode it.
func TestTestTemplateIsAcme(t *testing.T) {
	b, err := os.ReadFile("testdata/template/acme.opts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var co caseOptions
	if err := yaml.Unmarshal(b, &co); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(co.Template, testTemplate()) {
		t.Errorf("acme.opts.yaml decodes to\n%+v\nwant testTemplate()\n%+v", co.Template, testTemplate())
	}
}

// Every key decodes from its snake_case yaml name.
func TestTemplateYAML(t *testing.T) {
	src := `
layout: fixed
separator: "|"
fields:
  extension: {column: 1, width: 2}
  dialed: {column: 3, width: 4}
  date: {column: 5, width: 6}
  time: {column: 7, width: 8}
  datetime: {column: 9, width: 10}
  duration: {column: 11, width: 12}
  ring: {column: 13, width: 14}
  trunk: {column: 15, width: 16}
  account_code: {column: 17, width: 18}
  caller_id: {column: 19, width: 20}
  direction: {column: 21, width: 22}
  call_id: {column: 23, width: 24}
  status: {field: 25}
date_format: a
time_format: b
datetime_format: c
duration_format: d
ring_format: e
time_is: end
utc: true
direction_markers: {X: out}
direction_rules:
  - {direction: in, trunk: present, caller_id: absent, dialed: present, dialed_longer_than: 3, dialed_prefixes: ["9"]}
unanswered: ["*"]
dialed_strip: ">"
skip: ["a"]
skip_prefixes: ["b"]
min_length: 7
`
	var got Template
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := Template{
		Layout: "fixed", Separator: "|",
		Fields: TemplateFields{
			Extension: TemplateField{Column: 1, Width: 2}, Dialed: TemplateField{Column: 3, Width: 4},
			Date: TemplateField{Column: 5, Width: 6}, Time: TemplateField{Column: 7, Width: 8},
			Datetime: TemplateField{Column: 9, Width: 10}, Duration: TemplateField{Column: 11, Width: 12},
			Ring: TemplateField{Column: 13, Width: 14}, Trunk: TemplateField{Column: 15, Width: 16},
			AccountCode: TemplateField{Column: 17, Width: 18}, CallerID: TemplateField{Column: 19, Width: 20},
			Direction: TemplateField{Column: 21, Width: 22}, CallID: TemplateField{Column: 23, Width: 24},
			Status: TemplateField{Field: 25},
		},
		DateFormat: "a", TimeFormat: "b", DatetimeFormat: "c", DurationFormat: "d", RingFormat: "e",
		TimeIs: "end", UTC: true, DirectionMarkers: map[string]string{"X": "out"},
		DirectionRules: []TemplateRule{{Direction: "in", Trunk: "present", CallerID: "absent", Dialed: "present", DialedLongerThan: 3, DialedPrefixes: []string{"9"}}},
		Unanswered:     []string{"*"}, DialedStrip: ">", Skip: []string{"a"}, SkipPrefixes: []string{"b"}, MinLength: 7,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestTemplateCheck(t *testing.T) {
	if ps := testTemplate().Check(); ps != nil {
		t.Fatalf("testTemplate: %v", ps)
	}
	mod := func(f func(*Template)) *Template {
		t := testTemplate()
		f(t)
		return t
	}
	cases := []struct {
		name   string
		t      *Template
		fields []string // every problem's Field, in order
	}{
		{"empty", &Template{}, []string{"layout", "fields.duration", "fields.extension", "fields.time", "direction_rules"}},
		{"bad layout", mod(func(t *Template) { t.Layout = "xml" }), []string{"layout"}},
		{"separator", mod(func(t *Template) { t.Separator = ";;" }), []string{"separator"}},
		{"quote separator", mod(func(t *Template) { t.Separator = `"` }), []string{"separator"}},
		{"csv field given as column", mod(func(t *Template) { t.Fields.Dialed = TemplateField{Column: 3, Width: 2} }), []string{"fields.dialed.field", "fields.dialed.field"}},
		{"csv field 0", mod(func(t *Template) { t.Fields.Trunk = TemplateField{Field: -1} }), []string{"fields.trunk.field"}},
		{"fixed: column, width, field", mod(func(t *Template) {
			t.Layout, t.Separator = "fixed", ""
			t.Fields = TemplateFields{Extension: TemplateField{Column: 1, Width: 3}, Time: TemplateField{Column: 0, Width: 5},
				Date: TemplateField{Column: 7, Width: 0}, Duration: TemplateField{Column: 20, Width: 8, Field: 2},
				Direction: TemplateField{Column: 4090, Width: 10}}
			t.RingFormat = ""
		}), []string{"fields.date.width", "fields.time.column", "fields.duration.field", "fields.direction.column"}},
		{"fixed with separator", mod(func(t *Template) {
			t.Layout = "fixed"
			t.Fields = TemplateFields{Extension: TemplateField{Column: 1, Width: 3}, Date: TemplateField{Column: 5, Width: 8},
				Time: TemplateField{Column: 14, Width: 8}, Duration: TemplateField{Column: 23, Width: 8}, Direction: TemplateField{Column: 32, Width: 1},
				Ring: TemplateField{Column: 34, Width: 4}}
		}), []string{"separator"}},
		{"no duration, no extension or dialed", mod(func(t *Template) {
			t.Fields.Duration, t.Fields.Extension, t.Fields.Dialed = TemplateField{}, TemplateField{}, TemplateField{}
			t.DurationFormat = ""
			t.DirectionMarkers = nil
			t.Fields.Direction = TemplateField{}
			t.DirectionRules = []TemplateRule{{Direction: "out"}}
		}), []string{"fields.duration", "fields.extension"}},
		{"datetime and date", mod(func(t *Template) { t.Fields.Datetime = TemplateField{Field: 13}; t.DatetimeFormat = "YYYY-MM-DD hh:mm" }), []string{"fields.datetime"}},
		{"date without time", mod(func(t *Template) { t.Fields.Time = TemplateField{}; t.TimeFormat = "" }), []string{"fields.time", "fields.time"}},
		{"missing formats", mod(func(t *Template) { t.DateFormat, t.TimeFormat, t.DurationFormat = "", "", "" }), []string{"date_format", "time_format", "duration_format"}},
		{"format without field", mod(func(t *Template) { t.DatetimeFormat = "YYYY"; t.Fields.Ring = TemplateField{} }), []string{"datetime_format", "ring_format"}},
		{"bad date format", mod(func(t *Template) { t.DateFormat = "DD.MM.YY hh" }), []string{"date_format"}},
		{"date format without day", mod(func(t *Template) { t.DateFormat = "MM/YY" }), []string{"date_format"}},
		{"date format with two years", mod(func(t *Template) { t.DateFormat = "YYYY MM DD YY" }), []string{"date_format"}},
		{"time format without minutes", mod(func(t *Template) { t.TimeFormat = "hh" }), []string{"time_format"}},
		{"time format with date", mod(func(t *Template) { t.TimeFormat = "DD hh:mm" }), []string{"time_format"}},
		{"repeated token", mod(func(t *Template) { t.TimeFormat = "hh:mm:mm" }), []string{"time_format"}},
		{"bad durations", mod(func(t *Template) { t.DurationFormat = "hours"; t.RingFormat = "DD" }), []string{"duration_format", "ring_format"}},
		{"time_is", mod(func(t *Template) { t.TimeIs = "middle" }), []string{"time_is"}},
		{"direction field without markers", mod(func(t *Template) { t.DirectionMarkers = nil }), []string{"direction_markers"}},
		{"markers without field", mod(func(t *Template) { t.Fields.Direction = TemplateField{} }), []string{"fields.direction"}},
		{"bad marker", mod(func(t *Template) { t.DirectionMarkers["X"] = "sideways" }), []string{"direction_markers.X"}},
		{"bad rules", mod(func(t *Template) {
			t.Fields.CallerID = TemplateField{}
			t.DirectionRules = []TemplateRule{{Direction: "up"}, {Direction: "out", Trunk: "yes", CallerID: "present", DialedLongerThan: -1, DialedPrefixes: []string{""}}}
		}), []string{"direction_rules[0].direction", "direction_rules[1].trunk", "direction_rules[1].caller_id", "direction_rules[1].dialed_longer_than", "direction_rules[1].dialed_prefixes[0]"}},
		{"rule on a field the layout lacks", mod(func(t *Template) {
			t.Fields.Dialed = TemplateField{}
			t.DirectionRules = []TemplateRule{{Direction: "out", DialedLongerThan: 4}}
		}), []string{"direction_rules[0].dialed_longer_than"}},
		{"blank markers and skips", mod(func(t *Template) {
			t.Unanswered = []string{" "}
			t.Skip = []string{""}
			t.SkipPrefixes = []string{" "}
			t.MinLength = -1
		}), []string{"unanswered[0]", "skip[0]", "skip_prefixes[0]", "min_length"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.t.Check()
			var got []string
			for _, p := range ps {
				got = append(got, p.Field)
				if p.Msg == "" || !strings.HasSuffix(p.Msg, ".") {
					t.Errorf("%s: message %q is not a sentence", p.Field, p.Msg)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("problems at %q, want %q\n%v", got, tc.fields, ps)
			}
		})
	}
}

func TestTemplateNewParser(t *testing.T) {
	if _, err := NewParser("template", Options{}); err == nil {
		t.Error("no template: no error")
	}
	_, err := NewParser("template", Options{Template: &Template{Layout: "csv"}})
	if err == nil || !strings.Contains(err.Error(), "pbx.template.fields.duration") {
		t.Errorf("bad template: %v, want the problems with their keys", err)
	}
}

func TestTemplateStamps(t *testing.T) {
	for _, tc := range []struct {
		format, in string
		want       tplStamp
		ok         bool
	}{
		{"hh:mm", "09:05", tplStamp{h: 9, mi: 5}, true},
		{"hh:mm", "9:05", tplStamp{h: 9, mi: 5}, true},
		{"hh:mm", " 9:05", tplStamp{h: 9, mi: 5}, true},
		{"hhmm", "0905", tplStamp{h: 9, mi: 5}, true},
		{"hhmm", "905", tplStamp{}, false},
		{"hh:mm:ss", "09:05", tplStamp{}, false},
		{"hh:mmAP", "12:00PM", tplStamp{h: 12, ap: 'P'}, true},
		{"hh:mm AP", "12:00 a", tplStamp{h: 12, ap: 'A'}, true},
		{"YYYYMMDD", "20241105", tplStamp{y: 2024, year: 4, mo: 11, d: 5}, true},
		{"DD-MMM-YY", "05-nov-24", tplStamp{y: 24, year: 2, mo: 11, d: 5}, true},
		{"MM/DD", "11/05", tplStamp{mo: 11, d: 5}, true},
		{"MM/DD", "11/05/24", tplStamp{}, false},
		{"YYYY-MM-DD", "24-11-05", tplStamp{}, false},
	} {
		var st tplStamp
		ok := readTemplateStamp(compileTemplateStamp(tc.format), tc.in, &st)
		if ok != tc.ok || (ok && st != tc.want) {
			t.Errorf("%s %q: %+v %v, want %+v %v", tc.format, tc.in, st, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		format, in string
		want       int
		ok         bool
	}{
		{"seconds", "95", 95, true},
		{"minutes", "3", 180, true},
		{"tenths", "15", 90, true},
		{"hh:mm:ss", "10:30:19", 37819, true},
		{"hh:mm:ss", "1234:00:01", 1234*3600 + 1, true},
		{"hh:mm:ss", "00:60:00", 0, false},
		{"hh:mm:ss", "00:01", 0, false},
		{"mm:ss", "125:30", 125*60 + 30, true},
		{"mm:ss", "1:75", 0, false},
		{"hh:mm'ss", "00:01'35", 95, true},
		{"hmmt", "0123", 12*60 + 18, true},
		{"hmmt", "10123", 0, false},
		{"ss", "59", 59, true},
		{"seconds", "", 0, false},
	} {
		d, ok := compileTemplateDuration(tc.format)
		if !ok {
			t.Fatalf("%s does not compile", tc.format)
		}
		got, gok := d.read(tc.in)
		if gok != tc.ok || (gok && got != tc.want) {
			t.Errorf("%s %q: %d %v, want %d %v", tc.format, tc.in, got, gok, tc.want, tc.ok)
		}
	}
}

// fixedTemplate is a small fixed layout: "EXT  DIALED          HH:MMAP DUR   D".
func fixedTemplate() *Template {
	return &Template{
		Layout: "fixed",
		Fields: TemplateFields{
			Extension: TemplateField{Column: 1, Width: 4},
			Dialed:    TemplateField{Column: 6, Width: 15},
			Time:      TemplateField{Column: 22, Width: 7},
			Duration:  TemplateField{Column: 30, Width: 5},
			Direction: TemplateField{Column: 36, Width: 1},
		},
		TimeFormat:       "hh:mmAP",
		DurationFormat:   "seconds",
		DirectionMarkers: map[string]string{"O": "out", "I": "in", "": "internal"},
	}
}

func TestTemplateRecords(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, ny)
	parse := func(tpl *Template, year int, line string) (gateway.Call, error) {
		p := mustParser(t, "template", Options{Location: ny, Template: tpl, Year: year})
		return p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
	}
	start := func(c gateway.Call) string { return c.Start.Format(gateway.WallClockLayout) }

	// 12-hour clock: noon and midnight; no date: the reading day, or the day
	// before for a time more than an hour after the reading clock.
	for _, tc := range []struct{ line, start string }{
		{"415  6175550134      12:00AM    60 O", "2024-11-06T00:00:00"},
		{"415  6175550134      12:30PM    60 O", "2024-11-05T12:30:00"},
		{"415  6175550134      09:59AM    60 O", "2024-11-06T09:59:00"},
		{"415  6175550134      10:01AM    60 O", "2024-11-05T10:01:00"},
		{"415  6175550134       1:15AM    60 O", "2024-11-06T01:15:00"},
		{"415  6175550134      11:59PM    60 O", "2024-11-05T23:59:00"},
	} {
		c, err := parse(fixedTemplate(), 0, tc.line)
		if err != nil || start(c) != tc.start {
			t.Errorf("%q: %s %v, want %s", tc.line, start(c), err, tc.start)
		}
	}
	// A blank direction field is a marker too; markers are case-insensitive
	// after the exact ones.
	c, err := parse(fixedTemplate(), 0, "415  416             08:00AM    30  ")
	if err != nil || c.Direction != gateway.Internal || c.Dialed != "416" || c.Extension != "415" || c.DurationS != 30 || !*c.Answered {
		t.Errorf("internal: %+v %v", c, err)
	}
	c, err = parse(fixedTemplate(), 0, "415  6175550134      08:00AM     0 o")
	if err != nil || c.Direction != gateway.Outgoing || *c.Answered {
		t.Errorf("lower-case marker, zero duration: %+v %v", c, err)
	}
	if _, err := parse(fixedTemplate(), 0, "415  6175550134      13:00PM    60 O"); err == nil {
		t.Error("13:00PM: no error")
	}

	// End stamp: start = end - duration - ring, across midnight and the year.
	end := &Template{
		Layout: "csv",
		Fields: TemplateFields{Date: TemplateField{Field: 1}, Time: TemplateField{Field: 2}, Extension: TemplateField{Field: 3},
			Dialed: TemplateField{Field: 4}, Duration: TemplateField{Field: 5}, Ring: TemplateField{Field: 6}},
		DateFormat: "MM/DD", TimeFormat: "hh:mm", DurationFormat: "hh:mm:ss", TimeIs: "end",
		DirectionRules: []TemplateRule{{Direction: "out", Dialed: "present"}, {Direction: "in"}},
	}
	c, err = parse(end, 0, "01/01,00:02,415,6175550134,00:04:30,30")
	if err != nil || start(c) != "2023-12-31T23:57:00" || *c.RingS != 30 || c.DurationS != 270 || c.Direction != gateway.Outgoing {
		t.Errorf("end stamp, no year: %s %+v %v", start(c), c, err)
	}
	// 01/01 read on 6 November 2024 is 1 January 2024; a forced year wins.
	c, err = parse(end, 2025, "01/01,00:02,415,6175550134,00:04:30,30")
	if err != nil || start(c) != "2024-12-31T23:57:00" {
		t.Errorf("forced year: %s %v", start(c), err)
	}
	// 12/31 read on 1 January: last year.
	p, _ := NewParser("template", Options{Location: ny, Template: end})
	c, err = p.Parse(gateway.RawRecord{Data: []byte("12/31,23:58,415,,00:01:00,"), Received: time.Date(2025, 1, 1, 0, 5, 0, 0, ny)})
	if err != nil || start(c) != "2024-12-31T23:57:00" || c.Direction != gateway.Incoming || c.RingS != nil {
		t.Errorf("year rollover: %s %+v %v", start(c), c, err)
	}

	// Unanswered markers in the extension and duration fields; dialed_strip.
	mitel := &Template{
		Layout: "fixed",
		Fields: TemplateFields{Extension: TemplateField{Column: 1, Width: 5}, Dialed: TemplateField{Column: 7, Width: 10},
			Time: TemplateField{Column: 18, Width: 5}, Duration: TemplateField{Column: 24, Width: 8}},
		TimeFormat: "hh:mm", DurationFormat: "hh:mm:ss", Unanswered: []string{"*****", "NA"}, DialedStrip: ">P",
		DirectionRules: []TemplateRule{{Direction: "out"}}, MinLength: 22, Skip: []string{"----"}, SkipPrefixes: []string{"EXT"},
	}
	c, err = parse(mitel, 0, "***** 555-01P99> 08:00 00:00:18")
	if err != nil || c.Extension != "" || c.Dialed != "5550199" || *c.Answered || c.DurationS != 0 {
		t.Errorf("unanswered by extension: %+v %v", c, err)
	}
	c, err = parse(mitel, 0, "415   5550199    08:00 NA")
	if err != nil || c.Extension != "415" || *c.Answered {
		t.Errorf("unanswered by duration: %+v %v", c, err)
	}
	for _, l := range []string{"", "415   5550199    08:0", "  EXT   DIALED   TIME  DURATION", "----- --------- ----- --------"} {
		if _, err := parse(mitel, 0, l); !errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want ErrSkip", l, err)
		}
	}
	if _, err := parse(mitel, 0, "415   5550199          00:01:00"); err == nil || errors.Is(err, ErrSkip) {
		t.Errorf("blank time: %v, want an error", err)
	}

	// UTC datetime.
	utc := &Template{
		Layout: "csv", Separator: "\t",
		Fields:         TemplateFields{Datetime: TemplateField{Field: 1}, Extension: TemplateField{Field: 2}, Duration: TemplateField{Field: 3}},
		DatetimeFormat: "YYYY-MM-DDThh:mm:ss", DurationFormat: "seconds", UTC: true,
		DirectionRules: []TemplateRule{{Direction: "internal"}},
	}
	c, err = parse(utc, 0, "2024-11-03T06:30:00\t415\t10")
	if err != nil || start(c) != "2024-11-03T01:30:00" || c.StartUTC.Format(time.RFC3339) != "2024-11-03T06:30:00Z" || c.TimeNote != "" {
		t.Errorf("utc: %+v %v", c, err)
	}
}

// FuzzTemplateLayouts fuzzes the other golden layouts (fixed columns, UTC
// 12-hour datetime, rules) the way fuzzFormat fuzzes testTemplate's.
func FuzzTemplateLayouts(f *testing.F) {
	var tpls []*Template
	for _, name := range []string{"mitel5000", "utc12h"} {
		b, err := os.ReadFile("testdata/template/" + name + ".opts.yaml")
		if err != nil {
			f.Fatal(err)
		}
		var co caseOptions
		if err := yaml.Unmarshal(b, &co); err != nil {
			f.Fatal(err)
		}
		tpls = append(tpls, co.Template)
		in, err := os.ReadFile("testdata/template/" + name + ".txt")
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.FieldsFunc(string(in), func(r rune) bool { return r == '\r' || r == '\n' }) {
			f.Add([]byte(l))
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2025, 1, 1, 0, 30, 0, 0, ny)
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, tpl := range tpls {
			p := mustParser(t, "template", Options{Location: ny, Template: tpl})
			if _, err := p.rp.parse(line, clock); err != nil {
				continue
			}
			c, err := p.Parse(gateway.RawRecord{Data: line, Received: clock})
			if err != nil {
				continue
			}
			checkSane(t, c)
		}
	})
}
