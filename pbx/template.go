package pbx

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"callgate/gateway"
)

var templateFormat = Format{
	Name:        "template",
	Description: "any other PBX: a fixed-column or separated-field layout described in the config's pbx.template",
	Settings: "Set the PBX's SMDR/CDR output as its manual says; then describe one record in pbx.template: " +
		"layout fixed or csv, where each field is (fields.<name>.column and width, or field), the date, time and " +
		"duration formats, whether the time is the call's start or end, and how to tell the direction.",
	newParser: newTemplateParser,
}

// Template is an installer-defined record layout (format "template"), filled
// from the config's pbx.template section.
//
//	layout: fixed                      # fixed: sliced by column; csv: separated fields
//	separator: ","                     # csv only; one character, default ","; fields may be "quoted"
//	fields:                            # fixed: {column: N, width: W} (columns from 1); csv: {field: N} (from 1)
//	  extension: {column: 5, width: 5}
//	  dialed:    {column: 17, width: 28}
//	  time:      {column: 46, width: 5}
//	  duration:  {column: 52, width: 8}
//	  # also: date, datetime (date and time in one field), ring, trunk,
//	  # account_code, caller_id, direction, call_id, status
//	date_format: MM/DD                 # tokens YYYY YY MMM (Jan) MM DD; other characters are literal
//	time_format: hh:mm                 # tokens hh h mm ss AP (AM/PM, A/P: then hh is 1-12); no ss: :00
//	datetime_format: YYYY-MM-DD hh:mm:ss
//	duration_format: hh:mm:ss          # seconds | minutes | tenths (of a minute) | a pattern of hh h mm ss t (tenths)
//	ring_format: seconds               # as duration_format; default seconds
//	time_is: start                     # start (default) or end: then start = end - duration - ring
//	utc: false                         # true: the stamps are UTC, not the site's time
//	direction_markers: {LOC: out, IN: in, INT: internal}  # value of fields.direction -> out | in | internal
//	direction_rules:                   # tried in order when no marker matches; the first whose conditions all hold wins
//	  - {direction: in, caller_id: present}
//	  - {direction: out, trunk: present, dialed_longer_than: 4}
//	  - {direction: internal}
//	unanswered: ["*****"]              # a call is unanswered when status, extension or duration is one of these
//	dialed_strip: ">"                  # characters removed from dialed (besides spaces, '-' and '#')
//	skip: ["Page", "----"]             # lines containing one of these are not calls
//	skip_prefixes: ["Date"]            # lines starting (after blanks) with one of these are not calls
//	min_length: 59                     # shorter lines (without trailing blanks) are not calls
//
// Numeric tokens read their nominal width (YYYY 4 digits, h and t 1, the
// others 2) when next to another numeric token ("hhmm"), else 1 to 2 digits
// (the leading unit of a duration: any number). A duration pattern's
// separators are not letters or digits. A date without a year gets
// the year that makes it the latest such date not after the reading day (or
// the configured year); a layout with no date at all takes the reading day,
// or the day before when the time is more than an hour later than the reading
// clock. Years outside 1900-2999 are refused. A call is answered when no
// unanswered marker matched and its duration is above 0; a blank duration is
// 0. Values are trimmed of blanks; markers compare without regard to case
// (an exact match first).
type Template struct {
	Layout           string            `yaml:"layout"`
	Separator        string            `yaml:"separator"`
	Fields           TemplateFields    `yaml:"fields"`
	DateFormat       string            `yaml:"date_format"`
	TimeFormat       string            `yaml:"time_format"`
	DatetimeFormat   string            `yaml:"datetime_format"`
	DurationFormat   string            `yaml:"duration_format"`
	RingFormat       string            `yaml:"ring_format"`
	TimeIs           string            `yaml:"time_is"`
	UTC              bool              `yaml:"utc"`
	DirectionMarkers map[string]string `yaml:"direction_markers"`
	DirectionRules   []TemplateRule    `yaml:"direction_rules"`
	Unanswered       []string          `yaml:"unanswered"`
	DialedStrip      string            `yaml:"dialed_strip"`
	Skip             []string          `yaml:"skip"`
	SkipPrefixes     []string          `yaml:"skip_prefixes"`
	MinLength        int               `yaml:"min_length"`
}

// TemplateFields says where each field of the normalized call is in a record.
// A field left out is absent from the layout.
type TemplateFields struct {
	Extension   TemplateField `yaml:"extension"`
	Dialed      TemplateField `yaml:"dialed"`
	Date        TemplateField `yaml:"date"`
	Time        TemplateField `yaml:"time"`
	Datetime    TemplateField `yaml:"datetime"`
	Duration    TemplateField `yaml:"duration"`
	Ring        TemplateField `yaml:"ring"`
	Trunk       TemplateField `yaml:"trunk"`
	AccountCode TemplateField `yaml:"account_code"`
	CallerID    TemplateField `yaml:"caller_id"`
	Direction   TemplateField `yaml:"direction"`
	CallID      TemplateField `yaml:"call_id"`
	Status      TemplateField `yaml:"status"` // a disposition or flag that unanswered markers are looked for in
}

// TemplateField is one field's place: Column and Width for a fixed layout
// (columns counted from 1), Field for a csv layout (counted from 1).
type TemplateField struct {
	Column int `yaml:"column"`
	Width  int `yaml:"width"`
	Field  int `yaml:"field"`
}

func (f TemplateField) set() bool { return f.Column != 0 || f.Width != 0 || f.Field != 0 }

// TemplateRule is one direction rule: Direction when every condition given
// holds. Trunk, CallerID and Dialed are "present", "absent" or "" (either).
type TemplateRule struct {
	Direction        string   `yaml:"direction"`
	Trunk            string   `yaml:"trunk"`
	CallerID         string   `yaml:"caller_id"`
	Dialed           string   `yaml:"dialed"`
	DialedLongerThan int      `yaml:"dialed_longer_than"` // dialed has more than this many characters
	DialedPrefixes   []string `yaml:"dialed_prefixes"`    // dialed starts with one of these
}

// Logical field numbers, in the order of templateFieldList.
const (
	tfExtension = iota
	tfDialed
	tfDate
	tfTime
	tfDatetime
	tfDuration
	tfRing
	tfTrunk
	tfAccountCode
	tfCallerID
	tfDirection
	tfCallID
	tfStatus
	tfCount
)

// templateFieldList returns the template's fields with their yaml keys, in
// the tf* order.
func (t *Template) templateFieldList() [tfCount]struct {
	key string
	f   TemplateField
} {
	fs := &t.Fields
	type kf = struct {
		key string
		f   TemplateField
	}
	return [tfCount]kf{
		{"extension", fs.Extension}, {"dialed", fs.Dialed}, {"date", fs.Date}, {"time", fs.Time},
		{"datetime", fs.Datetime}, {"duration", fs.Duration}, {"ring", fs.Ring}, {"trunk", fs.Trunk},
		{"account_code", fs.AccountCode}, {"caller_id", fs.CallerID}, {"direction", fs.Direction},
		{"call_id", fs.CallID}, {"status", fs.Status},
	}
}

// templateMaxField is the highest csv field number a template may name.
const templateMaxField = 1000

// Check returns every problem of the template, each with the yaml key under
// the template and what would be valid. No problems: nil.
func (t *Template) Check() []FieldProblem {
	var ps []FieldProblem
	add := func(field, msg string, args ...any) {
		ps = append(ps, FieldProblem{Field: field, Msg: fmt.Sprintf(msg, args...)})
	}
	fixed := t.Layout == "fixed"
	csv := t.Layout == "csv"
	if !fixed && !csv {
		add("layout", "layout is %q: use fixed (fields sliced by column) or csv (fields separated by a character).", t.Layout)
	}
	if fixed && t.Separator != "" {
		add("separator", "separator is only for layout csv; a fixed layout gives each field's column and width.")
	}
	if csv && t.Separator != "" && (len(t.Separator) != 1 || strings.ContainsAny(t.Separator, "\"\r\n")) {
		add("separator", "separator is %q: use one character other than a quote or a line end, e.g. \",\", \";\", \"|\" or \"\\t\".", t.Separator)
	}
	list := t.templateFieldList()
	for _, kf := range list {
		f, key := kf.f, "fields."+kf.key
		if !f.set() {
			continue
		}
		switch {
		case fixed:
			if f.Field != 0 {
				add(key+".field", "a fixed layout places %s by column and width, not field.", kf.key)
			}
			if f.Column < 1 {
				add(key+".column", "column is %d: give the first column of %s, counted from 1.", f.Column, kf.key)
			}
			if f.Width < 1 {
				add(key+".width", "width is %d: give the number of columns of %s, at least 1.", f.Width, kf.key)
			}
			if f.Column >= 1 && f.Width >= 1 && f.Column+f.Width-1 > DefaultMaxRecord {
				add(key+".column", "%s would end at column %d, past the longest record (%d characters).", kf.key, f.Column+f.Width-1, DefaultMaxRecord)
			}
		case csv:
			if f.Column != 0 || f.Width != 0 {
				add(key+".field", "a csv layout places %s by its field number (field: N, from 1), not column and width.", kf.key)
			}
			if f.Field < 1 || f.Field > templateMaxField {
				add(key+".field", "field is %d: give the number of the %s field, from 1 to %d.", f.Field, kf.key, templateMaxField)
			}
		}
	}
	fs := &t.Fields
	if !fs.Duration.set() {
		add("fields.duration", "the layout needs the duration field.")
	}
	if !fs.Extension.set() && !fs.Dialed.set() {
		add("fields.extension", "the layout needs the extension field, the dialed field, or both.")
	}
	switch {
	case fs.Datetime.set() && (fs.Date.set() || fs.Time.set()):
		add("fields.datetime", "give either datetime (date and time in one field) or date and time, not both.")
	case !fs.Datetime.set() && !fs.Time.set():
		add("fields.time", "the layout needs the time field (with date when the record has one) or the datetime field.")
	}
	if fs.Date.set() && !fs.Time.set() && !fs.Datetime.set() {
		add("fields.time", "a date needs a time field too (or use datetime for both in one field).")
	}
	t.checkStampFormat(add, "date_format", t.DateFormat, fs.Date.set(), true, false, "MM/DD/YY")
	t.checkStampFormat(add, "time_format", t.TimeFormat, fs.Time.set(), false, true, "hh:mm:ss")
	t.checkStampFormat(add, "datetime_format", t.DatetimeFormat, fs.Datetime.set(), true, true, "YYYY-MM-DD hh:mm:ss")
	checkDur := func(key, format string, mapped, required bool) {
		switch {
		case format == "" && mapped && required:
			add(key, "%s is needed for the %s field: seconds, minutes, tenths (of a minute), or a pattern like hh:mm:ss or mm:ss.", key, strings.TrimSuffix(key, "_format"))
		case format != "" && !mapped:
			add(key, "%s is set but fields.%s is not.", key, strings.TrimSuffix(key, "_format"))
		case format != "":
			if _, ok := compileTemplateDuration(format); !ok {
				add(key, "%s %q: use seconds, minutes, tenths (of a minute), or a pattern of hh (or h) mm ss t (tenths of a minute) with literal separators, like hh:mm:ss, mm:ss or hh:mm'ss.", key, format)
			}
		}
	}
	checkDur("duration_format", t.DurationFormat, fs.Duration.set(), true)
	checkDur("ring_format", t.RingFormat, fs.Ring.set(), false)
	if t.TimeIs != "" && t.TimeIs != "start" && t.TimeIs != "end" {
		add("time_is", "time_is is %q: use start (the time is when the call began) or end (when it ended).", t.TimeIs)
	}
	switch {
	case fs.Direction.set() && len(t.DirectionMarkers) == 0:
		add("direction_markers", "fields.direction needs direction_markers: each value it takes and its direction, e.g. {O: out, I: in, X: internal}.")
	case !fs.Direction.set() && len(t.DirectionMarkers) > 0:
		add("fields.direction", "direction_markers need the direction field: give its place in fields.direction.")
	case !fs.Direction.set() && len(t.DirectionRules) == 0:
		add("direction_rules", "the layout needs a way to tell the direction: fields.direction with direction_markers, or direction rules (e.g. a single rule {direction: out} when the PBX prints only outgoing calls).")
	}
	keys := make([]string, 0, len(t.DirectionMarkers))
	for k := range t.DirectionMarkers {
		keys = append(keys, k)
	}
	sort.Strings(keys) // problems in a stable order
	for _, k := range keys {
		if v := t.DirectionMarkers[k]; !gateway.Direction(v).Valid() {
			add("direction_markers."+k, "direction %q: use out, in or internal.", v)
		}
	}
	for i, r := range t.DirectionRules {
		key := fmt.Sprintf("direction_rules[%d]", i)
		if !gateway.Direction(r.Direction).Valid() {
			add(key+".direction", "direction is %q: use out, in or internal.", r.Direction)
		}
		for _, c := range []struct {
			name, val string
			mapped    bool
		}{{"trunk", r.Trunk, fs.Trunk.set()}, {"caller_id", r.CallerID, fs.CallerID.set()}, {"dialed", r.Dialed, fs.Dialed.set()}} {
			switch {
			case c.val != "" && c.val != "present" && c.val != "absent":
				add(key+"."+c.name, "%s is %q: use present or absent (or leave it out).", c.name, c.val)
			case c.val != "" && !c.mapped:
				add(key+"."+c.name, "the rule tests %s but the layout has no fields.%s.", c.name, c.name)
			}
		}
		if r.DialedLongerThan < 0 {
			add(key+".dialed_longer_than", "dialed_longer_than is %d: use a number of digits, 0 or more.", r.DialedLongerThan)
		}
		if (r.DialedLongerThan > 0 || len(r.DialedPrefixes) > 0) && !fs.Dialed.set() {
			add(key+".dialed_longer_than", "the rule tests the dialed number but the layout has no fields.dialed.")
		}
		for j, p := range r.DialedPrefixes {
			if p == "" {
				add(fmt.Sprintf("%s.dialed_prefixes[%d]", key, j), "an empty prefix matches every number: remove it.")
			}
		}
	}
	for i, m := range t.Unanswered {
		if strings.TrimSpace(m) == "" {
			add(fmt.Sprintf("unanswered[%d]", i), "a blank marker would mark every call with a blank field unanswered: remove it.")
		}
	}
	for i, s := range t.Skip {
		if s == "" {
			add(fmt.Sprintf("skip[%d]", i), "an empty string would skip every line: remove it.")
		}
	}
	for i, s := range t.SkipPrefixes {
		if strings.TrimSpace(s) == "" {
			add(fmt.Sprintf("skip_prefixes[%d]", i), "a blank prefix would skip every line: remove it.")
		}
	}
	if t.MinLength < 0 || t.MinLength > DefaultMaxRecord {
		add("min_length", "min_length is %d: use 0 (no minimum) up to %d characters.", t.MinLength, DefaultMaxRecord)
	}
	return ps
}

// checkStampFormat checks a date, time or datetime format.
func (t *Template) checkStampFormat(add func(string, string, ...any), key, format string, mapped, date, clock bool, example string) {
	field := strings.TrimSuffix(key, "_format")
	switch {
	case format == "" && mapped:
		add(key, "%s is needed for the %s field, e.g. %q.", key, field, example)
		return
	case format != "" && !mapped:
		add(key, "%s is set but fields.%s is not.", key, field)
		return
	case format == "":
		return
	}
	if msg := checkTemplateStamp(compileTemplateStamp(format), date, clock); msg != "" {
		add(key, "%s %q: %s", key, format, msg)
	}
}

// Stamp and duration format tokens.
const (
	tkLit     = iota
	tkYear4   // YYYY
	tkYear2   // YY
	tkMonName // MMM: Jan … Dec
	tkMonth   // MM
	tkDay     // DD
	tkHour    // hh, or h (width 1)
	tkMin     // mm
	tkSec     // ss
	tkAP      // AP: AM/PM or A/P
	tkTenth   // t: tenths of a minute (durations)
	tkCount
)

type tplTok struct {
	kind  int
	lit   byte
	width int // nominal digits
}

func (k tplTok) numeric() bool { return k.kind != tkLit && k.kind != tkAP && k.kind != tkMonName }

// lexTemplateFormat splits a date, time or duration format into tokens.
// Durations also know t (tenths of a minute).
func lexTemplateFormat(f string, duration bool) []tplTok {
	var toks []tplTok
	for i := 0; i < len(f); {
		rest := f[i:]
		switch {
		case strings.HasPrefix(rest, "YYYY"):
			toks, i = append(toks, tplTok{kind: tkYear4, width: 4}), i+4
		case strings.HasPrefix(rest, "YY"):
			toks, i = append(toks, tplTok{kind: tkYear2, width: 2}), i+2
		case strings.HasPrefix(rest, "MMM"):
			toks, i = append(toks, tplTok{kind: tkMonName, width: 3}), i+3
		case strings.HasPrefix(rest, "MM"):
			toks, i = append(toks, tplTok{kind: tkMonth, width: 2}), i+2
		case strings.HasPrefix(rest, "DD"):
			toks, i = append(toks, tplTok{kind: tkDay, width: 2}), i+2
		case strings.HasPrefix(rest, "hh"):
			toks, i = append(toks, tplTok{kind: tkHour, width: 2}), i+2
		case rest[0] == 'h':
			toks, i = append(toks, tplTok{kind: tkHour, width: 1}), i+1
		case strings.HasPrefix(rest, "mm"):
			toks, i = append(toks, tplTok{kind: tkMin, width: 2}), i+2
		case strings.HasPrefix(rest, "ss"):
			toks, i = append(toks, tplTok{kind: tkSec, width: 2}), i+2
		case strings.HasPrefix(rest, "AP"):
			toks, i = append(toks, tplTok{kind: tkAP, width: 2}), i+2
		case duration && rest[0] == 't':
			toks, i = append(toks, tplTok{kind: tkTenth, width: 1}), i+1
		default:
			toks, i = append(toks, tplTok{kind: tkLit, lit: rest[0]}), i+1
		}
	}
	return toks
}

func compileTemplateStamp(f string) []tplTok { return lexTemplateFormat(f, false) }

// checkTemplateStamp says what is wrong with a stamp format that should hold
// a date and/or a time of day, "" when nothing.
func checkTemplateStamp(toks []tplTok, date, clock bool) string {
	var n [tkCount]int
	for _, k := range toks {
		n[k.kind]++
	}
	for k := tkYear4; k < tkCount; k++ {
		if n[k] > 1 {
			return "a token appears twice; tokens are YYYY YY MMM MM DD hh h mm ss AP, anything else is literal."
		}
	}
	switch {
	case date && (n[tkMonth]+n[tkMonName] != 1 || n[tkDay] != 1):
		return "a date needs MM (or MMM for Jan…Dec) and DD, and YYYY or YY when it has a year, e.g. MM/DD/YY."
	case date && n[tkYear4]+n[tkYear2] > 1:
		return "give YYYY or YY, not both."
	case !date && n[tkYear4]+n[tkYear2]+n[tkMonth]+n[tkMonName]+n[tkDay] > 0:
		return "a time format holds no date tokens (YYYY YY MMM MM DD): map the date as fields.date or use datetime."
	case clock && (n[tkHour] != 1 || n[tkMin] != 1):
		return "a time needs hh and mm (ss optional, AP for AM/PM), e.g. hh:mm:ss or hh:mmAP."
	case !clock && n[tkHour]+n[tkMin]+n[tkSec]+n[tkAP] > 0:
		return "a date format holds no time tokens (hh mm ss AP): map the time as fields.time or use datetime."
	}
	return ""
}

// tplStamp is what a stamp format read.
type tplStamp struct {
	y, mo, d, h, mi, s int
	year               int // 0: no year; 2: two digits; 4: four digits
	ap                 byte
}

// readTemplateStamp reads s by the format's tokens into st.
func readTemplateStamp(toks []tplTok, s string, st *tplStamp) bool {
	pos := 0
	for i, k := range toks {
		switch k.kind {
		case tkLit:
			if pos >= len(s) || s[pos] != k.lit {
				return false
			}
			pos++
		case tkAP:
			if pos >= len(s) {
				return false
			}
			switch s[pos] {
			case 'A', 'a':
				st.ap = 'A'
			case 'P', 'p':
				st.ap = 'P'
			default:
				return false
			}
			pos++
			if pos < len(s) && (s[pos] == 'M' || s[pos] == 'm') {
				pos++
			}
		case tkMonName:
			if pos+3 > len(s) {
				return false
			}
			m := templateMonth(s[pos : pos+3])
			if m == 0 {
				return false
			}
			st.mo = m
			pos += 3
		default:
			n, next, ok := readTemplateNum(toks, i, s, pos, k.width)
			if !ok {
				return false
			}
			pos = next
			switch k.kind {
			case tkYear4:
				st.y, st.year = n, 4
			case tkYear2:
				st.y, st.year = n, 2
			case tkMonth:
				st.mo = n
			case tkDay:
				st.d = n
			case tkHour:
				st.h = n
			case tkMin:
				st.mi = n
			case tkSec:
				st.s = n
			}
		}
	}
	return pos == len(s)
}

// readTemplateNum reads the number of token i at s[pos:]: exactly its width
// when the token before or after it is numeric too ("hhmm"), else (after blanks) 1 to max digits,
// where max is the width, or 9 for a duration's hours. Years take exactly
// their width.
func readTemplateNum(toks []tplTok, i int, s string, pos, max int) (n, next int, ok bool) {
	min := 1
	k := toks[i]
	packed := (i+1 < len(toks) && toks[i+1].numeric()) || (i > 0 && toks[i-1].numeric())
	switch {
	case packed || k.kind == tkYear4 || k.kind == tkYear2:
		min, max = k.width, k.width
	default:
		for pos < len(s) && s[pos] == ' ' {
			pos++
		}
	}
	j := pos
	for j < len(s) && j-pos < max && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int(s[j]-'0')
		j++
	}
	return n, j, j-pos >= min
}

var templateMonths = [12]string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

func templateMonth(s string) int {
	for i, m := range templateMonths {
		if strings.EqualFold(s, m) {
			return i + 1
		}
	}
	return 0
}

// tplDur is a compiled duration format: a unit keyword or a token pattern.
type tplDur struct {
	unit int // seconds per unit for a plain number; 0: pattern
	toks []tplTok
}

func compileTemplateDuration(f string) (tplDur, bool) {
	switch f {
	case "seconds":
		return tplDur{unit: 1}, true
	case "minutes":
		return tplDur{unit: 60}, true
	case "tenths":
		return tplDur{unit: 6}, true
	}
	toks := lexTemplateFormat(f, true)
	var n [tkCount]int
	for _, k := range toks {
		n[k.kind]++
	}
	if n[tkYear4]+n[tkYear2]+n[tkMonName]+n[tkMonth]+n[tkDay]+n[tkAP] > 0 {
		return tplDur{}, false
	}
	for _, k := range toks {
		if c := k.lit; k.kind == tkLit && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return tplDur{}, false // "hours": a word, not a pattern
		}
	}
	if n[tkHour] > 1 || n[tkMin] > 1 || n[tkSec] > 1 || n[tkTenth] > 1 || n[tkHour]+n[tkMin]+n[tkSec]+n[tkTenth] == 0 {
		return tplDur{}, false
	}
	return tplDur{toks: toks}, true
}

// read returns the seconds of a duration written s.
func (d tplDur) read(s string) (int, bool) {
	if d.unit != 0 {
		n, ok := atoi(s)
		return n * d.unit, ok
	}
	var h, m, sec, t int
	var hasH, hasM bool
	pos := 0
	for i, k := range d.toks {
		if k.kind == tkLit {
			if pos >= len(s) || s[pos] != k.lit {
				return 0, false
			}
			pos++
			continue
		}
		max := k.width
		if k.kind == tkHour || (k.kind == tkMin && !d.has(tkHour)) {
			max = 9 // the leading unit may run over its nominal width
		}
		n, next, ok := readTemplateNum(d.toks, i, s, pos, max)
		if !ok {
			return 0, false
		}
		pos = next
		switch k.kind {
		case tkHour:
			h, hasH = n, true
		case tkMin:
			m, hasM = n, true
		case tkSec:
			sec = n
		case tkTenth:
			t = n
		}
	}
	if pos != len(s) || (hasH && m > 59) || (hasM && sec > 59) || h > 100000 || m > 10000000 {
		return 0, false
	}
	return h*3600 + m*60 + sec + t*6, true
}

func (d tplDur) has(kind int) bool {
	for _, k := range d.toks {
		if k.kind == kind {
			return true
		}
	}
	return false
}

// tplMarker is one direction marker.
type tplMarker struct {
	value string
	dir   gateway.Direction
}

// templateParser reads records by a checked Template.
type templateParser struct {
	csv       bool
	sep       byte
	fields    []string
	maxField  int // highest csv field number read
	place     [tfCount]TemplateField
	has       [tfCount]bool
	dateFmt   []tplTok
	timeFmt   []tplTok
	dtFmt     []tplTok
	dur, ring tplDur
	end       bool
	utc       bool
	year      int
	markers   []tplMarker
	rules     []TemplateRule
	unans     []string
	strip     string
	skip      []string
	skipPre   []string
	minLen    int
	vals      [tfCount]string
	formats   [tfCount]string // the date, time and duration formats, for messages
}

// where names a field's place in the record, for messages.
func (p *templateParser) where(i int) string {
	if p.csv {
		return fmt.Sprintf("field %d", p.place[i].Field)
	}
	return fmt.Sprintf("columns %d-%d", p.place[i].Column, p.place[i].Column+p.place[i].Width-1)
}

func newTemplateParser(o Options) (recordParser, error) {
	t := o.Template
	if t == nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "template: format template needs the layout in pbx.template")
	}
	if ps := t.Check(); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = "pbx.template." + p.Field + ": " + p.Msg
		}
		return nil, gateway.Errorf(gateway.KindInvalid, "template: %s", strings.Join(msgs, "; "))
	}
	p := &templateParser{
		csv:     t.Layout == "csv",
		sep:     ',',
		end:     t.TimeIs == "end",
		utc:     t.UTC,
		year:    o.Year,
		rules:   append([]TemplateRule(nil), t.DirectionRules...),
		unans:   append([]string(nil), t.Unanswered...),
		strip:   t.DialedStrip,
		skip:    append([]string(nil), t.Skip...),
		skipPre: append([]string(nil), t.SkipPrefixes...),
		minLen:  t.MinLength,
	}
	if t.Separator != "" {
		p.sep = t.Separator[0]
	}
	for i, kf := range t.templateFieldList() {
		p.place[i], p.has[i] = kf.f, kf.f.set()
		if kf.f.Field > p.maxField {
			p.maxField = kf.f.Field
		}
	}
	for i := range p.skipPre {
		p.skipPre[i] = strings.TrimLeft(p.skipPre[i], " \t")
	}
	p.formats[tfDate], p.formats[tfTime], p.formats[tfDatetime] = t.DateFormat, t.TimeFormat, t.DatetimeFormat
	p.formats[tfDuration], p.formats[tfRing] = t.DurationFormat, t.RingFormat
	p.dateFmt = compileTemplateStamp(t.DateFormat)
	p.timeFmt = compileTemplateStamp(t.TimeFormat)
	p.dtFmt = compileTemplateStamp(t.DatetimeFormat)
	p.dur, _ = compileTemplateDuration(t.DurationFormat)
	ring := t.RingFormat
	if ring == "" {
		ring = "seconds"
		p.formats[tfRing] = ring
	}
	p.ring, _ = compileTemplateDuration(ring)
	for v, d := range t.DirectionMarkers {
		p.markers = append(p.markers, tplMarker{strings.TrimSpace(v), gateway.Direction(d)})
	}
	// Sorted, so that keys differing only in case match in a fixed order.
	sort.Slice(p.markers, func(i, j int) bool { return p.markers[i].value < p.markers[j].value })
	return p, nil
}

func (p *templateParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := strings.TrimRight(string(line), " \t\r\n")
	if strings.TrimSpace(s) == "" || len(s) < p.minLen {
		return gateway.Call{}, ErrSkip
	}
	for _, k := range p.skip {
		if strings.Contains(s, k) {
			return gateway.Call{}, ErrSkip
		}
	}
	if len(p.skipPre) > 0 {
		lead := strings.TrimLeft(s, " \t")
		for _, k := range p.skipPre {
			if strings.HasPrefix(lead, k) {
				return gateway.Call{}, ErrSkip
			}
		}
	}
	v := &p.vals
	if p.csv {
		f, ok := splitCSV(p.fields, strings.TrimSpace(s), p.sep)
		p.fields = f
		if !ok {
			return gateway.Call{}, errorf("template: a quoted field is not closed")
		}
		if len(f) < p.maxField {
			return gateway.Call{}, errorf("template: %d fields, the template reads up to field %d", len(f), p.maxField)
		}
		for i := range v {
			v[i] = ""
			if p.has[i] {
				v[i] = strings.TrimSpace(f[p.place[i].Field-1])
			}
		}
	} else {
		for i := range v {
			v[i] = ""
			if p.has[i] {
				v[i] = col(s, p.place[i].Column, p.place[i].Column+p.place[i].Width-1)
			}
		}
	}

	unanswered := false
	for _, m := range p.unans {
		m = strings.TrimSpace(m)
		for _, f := range [...]int{tfStatus, tfExtension, tfDuration} {
			if p.has[f] && strings.EqualFold(v[f], m) {
				unanswered = true
				if f != tfStatus {
					v[f] = "" // a marker, not an extension or a duration
				}
			}
		}
	}

	var c gateway.Call
	duration := 0
	if v[tfDuration] != "" {
		d, ok := p.dur.read(v[tfDuration])
		if !ok {
			return gateway.Call{}, errorf("template: duration %q (%s) does not match duration_format %q", v[tfDuration], p.where(tfDuration), p.formats[tfDuration])
		}
		duration = d
	}
	ring := 0
	if p.has[tfRing] && v[tfRing] != "" {
		r, ok := p.ring.read(v[tfRing])
		if !ok {
			return gateway.Call{}, errorf("template: ring %q (%s) does not match ring_format %q", v[tfRing], p.where(tfRing), p.formats[tfRing])
		}
		ring = r
		c.RingS = gateway.Int(r)
	}
	stamp, err := p.stamp(v, clock)
	if err != nil {
		return gateway.Call{}, err
	}
	if p.end {
		stamp = stamp.Add(-time.Duration(duration+ring) * time.Second)
	}
	if p.utc {
		c.StartUTC = stamp
	} else {
		c.Start = stamp
	}
	c.DurationS = duration
	c.Answered = gateway.Bool(!unanswered && duration > 0)

	c.Trunk = v[tfTrunk]
	c.AccountCode = v[tfAccountCode]
	c.CallID = v[tfCallID]
	dialed := CleanDigits(v[tfDialed])
	if p.strip != "" && strings.ContainsAny(dialed, p.strip) {
		dialed = strings.Map(func(r rune) rune {
			if strings.ContainsRune(p.strip, r) {
				return -1
			}
			return r
		}, dialed)
	}
	callerID := CleanDigits(v[tfCallerID])
	dir, ok := p.direction(v[tfDirection], c.Trunk, callerID, dialed)
	if !ok {
		if p.has[tfDirection] {
			return gateway.Call{}, errorf("template: direction %q (%s) is not in direction_markers and no direction rule matches", v[tfDirection], p.where(tfDirection))
		}
		return gateway.Call{}, errorf("template: no direction rule matches this record; add a last rule with only a direction")
	}
	c.Direction = dir
	c.Extension = v[tfExtension]
	c.Dialed = dialed
	if dir == gateway.Incoming {
		c.CallerID = callerID
	}
	return c, nil
}

// stamp returns the record's wall-clock time (UTC when the template says so).
func (p *templateParser) stamp(v *[tfCount]string, clock time.Time) (time.Time, error) {
	if p.utc {
		clock = clock.UTC()
	}
	var st tplStamp
	hasDate := false
	switch {
	case p.has[tfDatetime]:
		if !readTemplateStamp(p.dtFmt, v[tfDatetime], &st) {
			return time.Time{}, errorf("template: datetime %q (%s) does not match datetime_format %q", v[tfDatetime], p.where(tfDatetime), p.formats[tfDatetime])
		}
		hasDate = true
	default:
		if p.has[tfDate] {
			if !readTemplateStamp(p.dateFmt, v[tfDate], &st) {
				return time.Time{}, errorf("template: date %q (%s) does not match date_format %q", v[tfDate], p.where(tfDate), p.formats[tfDate])
			}
			hasDate = true
		}
		if !readTemplateStamp(p.timeFmt, v[tfTime], &st) {
			return time.Time{}, errorf("template: time %q (%s) does not match time_format %q", v[tfTime], p.where(tfTime), p.formats[tfTime])
		}
	}
	if st.ap != 0 {
		if st.h < 1 || st.h > 12 {
			return time.Time{}, errorf("template: hour %d is not 1 to 12 on a 12-hour clock", st.h)
		}
		st.h %= 12
		if st.ap == 'P' {
			st.h += 12
		}
	}
	if !hasDate {
		y, mo, d := clock.Date()
		t, ok := civil(y, int(mo), d, st.h, st.mi, st.s)
		if !ok {
			return time.Time{}, errorf("template: time %q is not a time of day", v[tfTime])
		}
		// A time more than an hour past the reading clock is yesterday's.
		if t.Sub(WallClock(clock)) > time.Hour {
			t = t.AddDate(0, 0, -1)
		}
		return t, nil
	}
	switch st.year {
	case 0:
		st.y = InferYear(st.mo, st.d, clock, p.year)
	case 2:
		st.y = expandYear(st.y, clock)
	}
	t, ok := civil(st.y, st.mo, st.d, st.h, st.mi, st.s)
	if !ok || st.y < 1900 || st.y > 2999 {
		if p.has[tfDatetime] {
			return time.Time{}, errorf("template: datetime %q is not a real date and time", v[tfDatetime])
		}
		return time.Time{}, errorf("template: date %q time %q is not a real date and time", v[tfDate], v[tfTime])
	}
	return t, nil
}

// direction applies the markers, then the rules.
func (p *templateParser) direction(marker, trunk, callerID, dialed string) (gateway.Direction, bool) {
	if p.has[tfDirection] {
		for _, m := range p.markers {
			if m.value == marker {
				return m.dir, true
			}
		}
		for _, m := range p.markers {
			if strings.EqualFold(m.value, marker) {
				return m.dir, true
			}
		}
	}
	for i := range p.rules {
		r := &p.rules[i]
		if !templatePresence(r.Trunk, trunk) || !templatePresence(r.CallerID, callerID) || !templatePresence(r.Dialed, dialed) {
			continue
		}
		if r.DialedLongerThan > 0 && len(dialed) <= r.DialedLongerThan {
			continue
		}
		if len(r.DialedPrefixes) > 0 {
			match := false
			for _, pre := range r.DialedPrefixes {
				if strings.HasPrefix(dialed, pre) {
					match = true
					break
				}
			}
			if !match {
				continue
			}
		}
		return gateway.Direction(r.Direction), true
	}
	return "", false
}

// templatePresence checks a present/absent condition.
func templatePresence(cond, val string) bool {
	switch cond {
	case "present":
		return val != ""
	case "absent":
		return val == ""
	}
	return true
}
