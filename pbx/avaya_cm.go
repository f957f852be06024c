package pbx

import (
	"fmt"
	"strings"
	"time"

	"callgate/gateway"
)

var avayaCM = Format{
	Name: "avaya-cm",
	Description: "Avaya Communication Manager (Definity) CDR, customized format: fixed columns as listed on the CDR form " +
		"(pbx.cm_fields), stamped at call end to the minute, duration in seconds",
	Settings: "CM connects to the gateway (pbx.transport tcp-listen on pbx.listen's port): change node-names ip: add the gateway; " +
		"change ip-services: service CDR1, local node procr or a CLAN, remote node = the gateway, remote port = pbx.listen's port, " +
		"Reliable Session Protocol n (plain TCP). change system-parameters cdr: Primary Output Format customized, " +
		"Primary Output Endpoint CDR1, Record Outgoing Calls Only n, Suppress CDR for Ineffective Call Attempts y, " +
		"Remove # From Called Number y; page 2 lists the data items, which pbx.cm_fields must copy in order " +
		"(default: date 6, space, time 4, space, sec-dur 5, space, cond-code 1, space, code-dial 4, space, code-used 4, space, " +
		"dialed-num 18, space, calling-num 10, space, auth-code 7, space, in-crt-id 3, space, out-crt-id 3, space, isdn-cc 11, " +
		"space, ppm 5, space, acct-code 15, space, in-trk-code 4, space, attd-console 2, space, vdn 5, return, line-feed). " +
		"Set CDR Reports y on every trunk group and list the room extensions on change intra-switch-cdr for internal calls.",
	newParser: newCMParser,
}

// CMField is one data item of an Avaya Communication Manager customized CDR
// record, exactly as page 2 of the CDR system-parameters form lists it: the
// item's name as CM spells it (date, time, sec-dur, cond-code, code-dial,
// code-used, dialed-num, calling-num, auth-code, in-crt-id, out-crt-id,
// acct-code, in-trk-code, vdn, …) and its length in characters. The blanks
// between fields are items too ("space", width 1), and the record ends with
// "return" and "line-feed" (and optionally "null" items), as on the form.
type CMField struct {
	Name  string `yaml:"name"`
	Width int    `yaml:"width"`
}

// DefaultCMFields returns the layout used when Options.CMFields is nil: the
// customized record of docs/pbx-formats.md, "Avaya Communication Manager"
// (123 characters + CR LF), checked column
// by column against a real CM capture: date 6 (mmddyy), time 4, sec-dur 5,
// cond-code 1, code-dial 4, code-used 4, dialed-num 18, calling-num 10,
// auth-code 7, in-crt-id 3, out-crt-id 3, isdn-cc 11, ppm 5, acct-code 15,
// in-trk-code 4, attd-console 2, vdn 5, one space between fields.
func DefaultCMFields() []CMField {
	data := []CMField{
		{"date", 6}, {"time", 4}, {"sec-dur", 5}, {"cond-code", 1}, {"code-dial", 4}, {"code-used", 4},
		{"dialed-num", 18}, {"calling-num", 10}, {"auth-code", 7}, {"in-crt-id", 3}, {"out-crt-id", 3},
		{"isdn-cc", 11}, {"ppm", 5}, {"acct-code", 15}, {"in-trk-code", 4}, {"attd-console", 2}, {"vdn", 5},
	}
	var fs []CMField
	for i, f := range data {
		if i > 0 {
			fs = append(fs, CMField{"space", 1})
		}
		fs = append(fs, f)
	}
	return append(fs, CMField{"return", 1}, CMField{"line-feed", 1})
}

// cmItem describes a data item CM offers on the customized form. width is the
// one length CM prints it with, or 0 where the length is administered.
type cmItem struct {
	width   int
	control bool // return, line-feed, null: end of record, not a column
}

// cmItems is every data item name the customized form accepts (keys with '-'
// where CM writes '_': res_flag, tsc_ct, tsc_flag).
var cmItems = map[string]cmItem{
	"acct-code": {}, "attd-console": {width: 2}, "auth-code": {}, "bandwidth": {width: 2}, "bcc": {width: 1},
	"calling-num": {}, "clg-num/in-tac": {}, "clg-pty-cat": {width: 2}, "code-dial": {width: 4}, "code-used": {width: 4},
	"cond-code": {width: 1}, "date": {width: 6}, "dialed-num": {}, "duration": {width: 4}, "feat-flag": {width: 1},
	"frl": {width: 1}, "in-crt-id": {width: 3}, "in-trk-code": {width: 4}, "ins": {width: 3}, "isdn-cc": {width: 11},
	"ixc-code": {width: 4}, "location-from": {width: 3}, "location-to": {width: 3}, "ma-uui": {width: 1},
	"node-num": {width: 2}, "out-crt-id": {width: 3}, "ppm": {width: 5}, "res-flag": {width: 1},
	"sec-dur": {width: 5}, "space": {width: 1}, "time": {width: 4}, "tsc-ct": {width: 4}, "tsc-flag": {width: 1},
	"vdn":    {width: 5},
	"return": {width: 1, control: true}, "line-feed": {width: 1, control: true}, "null": {width: 1, control: true},
}

// cmName returns the canonical spelling of a data item name: lower case, '_'
// as '-'.
func cmName(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
}

// cmMaxWidth bounds an administered length (CM's longest item, dialed-num, is
// at most 23 characters).
const cmMaxWidth = 32

// CheckCMFields checks an installer's CM field list (pbx.cm_fields) and
// returns what is wrong with it; nil when it can be used. An empty list means
// the default layout and is fine. Field paths are the list index, 0-based, as
// in "[3].width".
func CheckCMFields(fields []CMField) []FieldProblem {
	var probs []FieldProblem
	add := func(field, format string, args ...any) {
		probs = append(probs, FieldProblem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if len(fields) == 0 {
		return nil
	}
	seen := make(map[string]int)
	ended := -1 // index of the first return/line-feed/null
	length := 0
	for i, f := range fields {
		name := cmName(f.Name)
		item, ok := cmItems[name]
		switch {
		case name == "":
			add(fmt.Sprintf("[%d].name", i), "item %d has no name: use a data item of the CDR form such as date, time, sec-dur, cond-code, dialed-num, calling-num or space", i+1)
			continue
		case !ok:
			add(fmt.Sprintf("[%d].name", i), "%q is not a data item of CM's customized CDR form: use one of %s", f.Name, strings.Join(cmItemNames(), ", "))
			continue
		}
		switch {
		case item.width != 0 && f.Width != item.width && name != "space":
			add(fmt.Sprintf("[%d].width", i), "%s is always %d characters wide on CM, not %d", name, item.width, f.Width)
		case f.Width < 1 || f.Width > cmMaxWidth:
			add(fmt.Sprintf("[%d].width", i), "%s has width %d: give the length shown on the CDR form, 1 to %d", name, f.Width, cmMaxWidth)
		}
		if item.control {
			if ended < 0 {
				ended = i
			}
			continue
		}
		if ended >= 0 {
			add(fmt.Sprintf("[%d].name", i), "%s comes after %s, which ends the record: return and line-feed must be the last items", name, cmName(fields[ended].Name))
		}
		if name != "space" {
			if j, dup := seen[name]; dup {
				add(fmt.Sprintf("[%d].name", i), "%s is listed twice (items %d and %d): CM prints each data item once", name, j+1, i+1)
			}
			seen[name] = i
		}
		if f.Width > 0 {
			length += f.Width
		}
	}
	if ended < 0 {
		add("", "the list has no return or line-feed item: CM ends each customized record with them, and records are read line by line")
	}
	for _, req := range []string{"time", "cond-code", "dialed-num"} {
		if _, ok := seen[req]; !ok {
			add("", "the list has no %s item: the gateway needs it to read a call", req)
		}
	}
	if _, ok := seen["sec-dur"]; !ok {
		if _, ok := seen["duration"]; !ok {
			add("", "the list has no sec-dur (or duration) item: the gateway needs the call's length")
		}
	}
	if _, ok := seen["calling-num"]; !ok {
		if _, ok := seen["clg-num/in-tac"]; !ok {
			add("", "the list has no calling-num item: the gateway needs the calling extension")
		}
	}
	if length > DefaultMaxRecord {
		add("", "the record would be %d characters long, more than the %d the gateway reads", length, DefaultMaxRecord)
	}
	return probs
}

// cmItemNames lists the known data item names, sorted, for messages.
func cmItemNames() []string {
	names := make([]string, 0, len(cmItems))
	for n := range cmItems {
		names = append(names, n)
	}
	// Small list: insertion sort keeps this file free of another import.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// cmSpan is a field's columns, 1-based inclusive; from 0 means the layout has
// no such field.
type cmSpan struct{ from, to int }

func (s cmSpan) in(line string) string {
	if s.from == 0 {
		return ""
	}
	return col(line, s.from, s.to)
}

// cmLayout is a compiled field list: where each field the parser reads is.
type cmLayout struct {
	date, time, secDur, dur, cond                                  cmSpan
	codeDial, codeUsed, dialed, calling, auth, inCrt, outCrt, acct cmSpan
	inTrk                                                          cmSpan
	seps                                                           []cmSpan // "space" items, to check the record against the layout
	length                                                         int      // characters before return/line-feed
}

// CMColumn is one data item of a customized CM layout and the columns it is
// printed in (1-based, inclusive).
type CMColumn struct {
	Name     string // canonical spelling: lower case, '-' for '_'
	From, To int
}

// CMColumns returns the items of a CM layout in the order it prints them,
// up to its end of record (return, line-feed or null). fields should have
// passed CheckCMFields; the PBX simulator prints records by it.
func CMColumns(fields []CMField) []CMColumn {
	var cols []CMColumn
	pos := 1
	for _, f := range fields {
		name := cmName(f.Name)
		if cmItems[name].control {
			break
		}
		cols = append(cols, CMColumn{Name: name, From: pos, To: pos + f.Width - 1})
		pos += f.Width
	}
	return cols
}

func compileCM(fields []CMField) cmLayout {
	var l cmLayout
	for _, c := range CMColumns(fields) {
		s := cmSpan{c.From, c.To}
		l.length = c.To
		switch c.Name {
		case "space":
			l.seps = append(l.seps, s)
		case "date":
			l.date = s
		case "time":
			l.time = s
		case "sec-dur":
			l.secDur = s
		case "duration":
			l.dur = s
		case "cond-code":
			l.cond = s
		case "code-dial":
			l.codeDial = s
		case "code-used":
			l.codeUsed = s
		case "dialed-num":
			l.dialed = s
		case "calling-num", "clg-num/in-tac":
			if l.calling.from == 0 {
				l.calling = s
			}
		case "auth-code":
			l.auth = s
		case "in-crt-id":
			l.inCrt = s
		case "out-crt-id":
			l.outCrt = s
		case "acct-code":
			l.acct = s
		case "in-trk-code":
			l.inTrk = s
		}
	}
	return l
}

func newCMParser(o Options) (recordParser, error) {
	fields := o.CMFields
	if len(fields) == 0 {
		fields = DefaultCMFields()
	}
	if probs := CheckCMFields(fields); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Msg
			if p.Field != "" {
				msgs[i] = "cm_fields" + p.Field + ": " + p.Msg
			}
		}
		return nil, gateway.Errorf(gateway.KindInvalid, "avaya-cm layout: %s", strings.Join(msgs, "; "))
	}
	return &cmParser{l: compileCM(fields), year: o.Year}, nil
}

// cmParser reads CM customized CDR records (docs/pbx-formats.md,
// "Avaya Communication Manager").
//
// Records are stamped when the call ends, to the minute (:00); start = end −
// duration (for H the duration field is the ring time, so that is end −
// ring), computed on the instant, so a call across a DST change starts at the
// right wall-clock time; a DST note on the end stamp is kept.
//
// The condition code decides the kind of call:
//
//	0        intra-switch → internal
//	7, A, B  ARS/AAR, outgoing, adjunct-placed outgoing → out
//	9        incoming or tandem → in
//	H        abandoned incoming: the duration field is the ring time → in,
//	         unanswered, ring_s = that time
//	G        ring-to-answer companion of an answered incoming call (trunk
//	         groups with CDR Reports = ring): its ring time describes a call
//	         the talk record already carries → skipped
//	E, F, I  ineffective, unavailable, busy → unanswered
//	6        resource exhaustion (the duration is an outage, not talk) → unanswered
//	4        long-call interim record (every 10 hours): a continuation; the
//	         call's final record (same parties and circuits) is marked too
//	C        one trunk's record of a conference → continuation
//
// Other codes (1 attendant, 8 ringback queue, J, K, M, T, …) and 4, C, E, F,
// I, 6 take their direction from the trunk columns: code-dial, code-used or
// out-crt-id set → out, else in-trk-code or in-crt-id set → in, else
// internal.
//
// Extension: calling-num for out and internal, dialed-num (the called
// extension) for in. Dialed: dialed-num with '#' removed for out and internal;
// for in "" (CM prints the called extension there, not the DID). Trunk: the
// trunk group's access code, code-used for out and in-trk-code for in (the
// circuit ids are member numbers within the group). CallerID: calling-num of
// an incoming call unless it is the incoming trunk's access code, which CM
// prints there when the call brought no calling number (see CMIsTAC).
// Account code: acct-code, else auth-code.
//
// A duration of 9999 (sec-dur 09999 or 99999; duration 9999) is CM's mark for
// a call that was up while the PBX clock was changed: the real length is
// unknown, so the record is refused with an error (it goes to the exception
// queue with its raw text) rather than billed at 2 h 46 min.
//
// Date records ("hh:mm mm/dd" sent at link-up and midnight, NUL padded) are
// skipped; a layout without a date item dates its records from the last date
// record, else from the reading clock.
type cmParser struct {
	l    cmLayout
	year int
	// Last date record, for layouts without a date item.
	dateMonth, dateDay int
	// long holds the party/circuit keys of calls with a long-call interim
	// record, so that their final record is marked a continuation too.
	long map[string]bool
}

// cmMaxLong bounds the open long-call set.
const cmMaxLong = 1000

func (p *cmParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := strings.TrimLeft(string(line), "\x00")
	s = strings.TrimRight(s, " \t\r\n\x00")
	if strings.TrimSpace(s) == "" {
		return gateway.Call{}, ErrSkip
	}
	if mo, d, ok := cmDateRecord(s); ok {
		p.dateMonth, p.dateDay = mo, d
		return gateway.Call{}, ErrSkip
	}
	l := &p.l
	if len(s) > l.length {
		return gateway.Call{}, errorf("avaya-cm: record is %d characters long, the configured cm_fields give %d: check the field list against the CDR form", len(s), l.length)
	}
	for _, sp := range l.seps {
		for i := sp.from; i <= sp.to && i <= len(s); i++ {
			if s[i-1] != ' ' {
				return gateway.Call{}, errorf("avaya-cm: column %d should be a blank between fields but holds %q: the record does not match the configured cm_fields", i, s[i-1])
			}
		}
	}

	// End of call: date and time, to the minute.
	hhmm := l.time.in(s)
	if len(hhmm) == 3 {
		hhmm = "0" + hhmm
	}
	h, ok1 := atoi2(hhmm, 0)
	mi, ok2 := atoi2(hhmm, 2)
	if len(hhmm) != 4 || !ok1 || !ok2 {
		return gateway.Call{}, errorf("avaya-cm: time %q is not hhmm", l.time.in(s))
	}
	var y, mo, d int
	if l.date.from != 0 {
		ds := l.date.in(s)
		m1, ok1 := atoi2(ds, 0)
		d1, ok2 := atoi2(ds, 2)
		y1, ok3 := atoi2(ds, 4)
		if len(ds) != 6 || !ok1 || !ok2 || !ok3 {
			return gateway.Call{}, errorf("avaya-cm: date %q is not mmddyy", ds)
		}
		y, mo, d = expandYear(y1, clock), m1, d1
	} else {
		y, mo, d = p.undatedDay(h, mi, clock)
	}
	end, ok := civil(y, mo, d, h, mi, 0)
	if !ok {
		return gateway.Call{}, errorf("avaya-cm: date and time %q %q are not a real date", l.date.in(s), hhmm)
	}

	// Duration in seconds (sec-dur) or h mm tenths-of-minute (duration).
	var dur int
	if l.secDur.from != 0 {
		ds := l.secDur.in(s)
		n, ok := atoi(ds)
		if !ok {
			return gateway.Call{}, errorf("avaya-cm: sec-dur %q is not a number of seconds", ds)
		}
		if n == 9999 || n == 99999 {
			return gateway.Call{}, errorf("avaya-cm: sec-dur %d is CM's mark for a call in progress while the PBX clock was changed: the call's real length is unknown", n)
		}
		dur = n
	} else {
		ds := l.dur.in(s)
		n, ok := atoi(ds)
		if !ok || len(ds) != 4 {
			return gateway.Call{}, errorf("avaya-cm: duration %q is not hmmt (hours, minutes, tenths of a minute)", ds)
		}
		if n == 9999 {
			return gateway.Call{}, errorf("avaya-cm: duration 9999 is CM's mark for a call in progress while the PBX clock was changed: the call's real length is unknown")
		}
		if (n/10)%100 > 59 {
			return gateway.Call{}, errorf("avaya-cm: duration %q has %d minutes", ds, (n/10)%100)
		}
		dur = n/1000*3600 + (n/10)%100*60 + n%10*6
	}

	cond := l.cond.in(s)
	if len(cond) != 1 || !cmCondChar(cond[0]) {
		return gateway.Call{}, errorf("avaya-cm: condition code %q is not one digit or letter", l.cond.in(s))
	}
	cc := cond[0]
	if cc >= 'a' && cc <= 'z' {
		cc -= 'a' - 'A'
	}
	if cc == 'G' {
		return gateway.Call{}, ErrSkip
	}

	codeDial, codeUsed, outCrt := l.codeDial.in(s), l.codeUsed.in(s), l.outCrt.in(s)
	inTrk, inCrt := l.inTrk.in(s), l.inCrt.in(s)
	calling, dialed := CleanDigits(l.calling.in(s)), CleanDigits(l.dialed.in(s))

	c := gateway.Call{AccountCode: l.acct.in(s)}
	if c.AccountCode == "" {
		c.AccountCode = l.auth.in(s)
	}
	switch cc {
	case '0':
		c.Direction = gateway.Internal
	case '7', 'A', 'B':
		c.Direction = gateway.Outgoing
	case '9', 'H':
		c.Direction = gateway.Incoming
	default:
		switch {
		case codeUsed != "" || outCrt != "" || codeDial != "":
			c.Direction = gateway.Outgoing
		case inTrk != "" || inCrt != "":
			c.Direction = gateway.Incoming
		default:
			c.Direction = gateway.Internal
		}
	}
	switch cc {
	case 'H':
		c.RingS = gateway.Int(dur)
		c.Answered = gateway.Bool(false)
	case 'E', 'F', 'I', '6':
		c.Answered = gateway.Bool(false)
	default:
		c.Answered = gateway.Bool(dur > 0)
	}
	if *c.Answered {
		c.DurationS = dur
	}

	switch c.Direction {
	case gateway.Incoming:
		c.Extension = dialed
		c.Trunk = inTrk
		if !CMIsTAC(calling, inTrk, l.inTrk.from != 0) {
			c.CallerID = calling
		}
	case gateway.Outgoing:
		c.Extension = calling
		c.Dialed = dialed
		c.Trunk = codeUsed
	default:
		c.Extension = calling
		c.Dialed = dialed
	}

	// Long calls: interim records (4) and the final record of the same call.
	key := ""
	if cc == '4' || len(p.long) > 0 {
		key = calling + "|" + l.dialed.in(s) + "|" + codeUsed + "|" + outCrt + "|" + inTrk + "|" + inCrt
	}
	switch {
	case cc == '4':
		c.Continuation = true
		if p.long == nil || len(p.long) >= cmMaxLong {
			p.long = make(map[string]bool)
		}
		p.long[key] = true
	case key != "" && p.long[key]:
		c.Continuation = true
		delete(p.long, key)
	}
	if cc == 'C' {
		c.Continuation = true
	}

	// The end stamp is wall clock in the site's zone: go back on the instant
	// by the printed duration (for H that is the ring time, the whole call).
	endUTC, note := Instant(end, clock.Location())
	c.StartUTC = endUTC.Add(-time.Duration(dur) * time.Second)
	c.TimeNote = note
	return c, nil
}

// CMIsTAC reports whether the calling-num of an incoming call is the trunk
// access code CM prints there when the call brought no calling number: the
// in-trk-code itself, or, for a layout without in-trk-code, any number of 4
// digits or fewer (a TAC has 1 to 4; a public calling number is longer).
func CMIsTAC(calling, inTrk string, haveInTrk bool) bool {
	if calling == "" {
		return true
	}
	if haveInTrk {
		return calling == inTrk
	}
	return len(calling) <= 4
}

// undatedDay dates a record of a layout without a date item: the day of the
// last date record when the record's time is not before it, else the reading
// clock's day (the day before when the time is more than an hour ahead of the
// clock, a record printed before midnight).
func (p *cmParser) undatedDay(h, mi int, clock time.Time) (y, mo, d int) {
	if p.dateMonth != 0 {
		y = InferYear(p.dateMonth, p.dateDay, clock, p.year)
		return y, p.dateMonth, p.dateDay
	}
	day := clock
	if h*60+mi > clock.Hour()*60+clock.Minute()+60 {
		day = clock.AddDate(0, 0, -1)
	}
	y = day.Year()
	if p.year != 0 {
		y = p.year
	}
	return y, int(day.Month()), day.Day()
}

// cmDateRecord recognizes a date record, "hh:mm mm/dd", and returns its month
// and day.
func cmDateRecord(s string) (mo, d int, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) != 11 || s[2] != ':' || s[5] != ' ' || s[8] != '/' {
		return 0, 0, false
	}
	_, ok1 := atoi2(s, 0)
	_, ok2 := atoi2(s, 3)
	mo, ok3 := atoi2(s, 6)
	d, ok4 := atoi2(s, 9)
	if !(ok1 && ok2 && ok3 && ok4) || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, false
	}
	return mo, d, true
}

// atoi2 reads the two digits of s at i.
func atoi2(s string, i int) (int, bool) {
	if i+2 > len(s) {
		return 0, false
	}
	a, b := s[i], s[i+1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func cmCondChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
