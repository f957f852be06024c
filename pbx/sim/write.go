package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// SimCall is one call of a simulated hotel, described apart from any PBX: what
// happened, not how a PBX prints it. The generator makes them; a format's
// Writer turns one into the records its PBX prints for it (Writer.Records) and
// those into bytes (Writer.Append).
type SimCall struct {
	// ID is unique within a stream and above 0: formats that print a call
	// identifier derive theirs from it.
	ID uint64
	// Start is the instant the call began: the caller lifted the handset, or
	// the outside call reached the hotel and began to ring.
	Start     time.Time
	Direction gateway.Direction
	// Extension is the caller of an outgoing or internal call; for an
	// incoming call the extension it rang and (if answered) that answered
	// it: the front desk for a call it later transferred.
	Extension string
	// Dialed is what the caller dialed: for an outgoing call the digits with
	// Access in front when an outside line was needed; for an internal call
	// the called extension; for an incoming call the hotel's number the
	// caller dialed (the DID), "" when the trunk delivers none.
	Dialed string
	// Access is the outside-line access code at the front of Dialed ("9"),
	// "" when the caller dialed none (an emergency number).
	Access string
	// CallerID is the outside caller's number of an incoming call, "" when
	// withheld.
	CallerID string
	// Trunk is the trunk line the call used, 1 and up; 0 for internal calls.
	Trunk int
	// RingS is how long it rang: until the answer, or until the caller gave up.
	RingS int
	// TalkS is how long the parties talked (0 when unanswered); for a
	// transferred call, both parts.
	TalkS    int
	Answered bool
	// AccountCode is the account code the caller entered, "" none.
	AccountCode string
	// TransferTo is, for an incoming call, the extension the answering one
	// transferred it to after TransferAfterS seconds of talk; "" none.
	TransferTo     string
	TransferAfterS int
}

// End returns the instant the call ended.
func (c SimCall) End() time.Time {
	return c.Start.Add(time.Duration(c.RingS+c.TalkS) * time.Second)
}

// FinalExtension is the extension that had the call last: the transfer's
// target, else Extension.
func (c SimCall) FinalExtension() string {
	if c.TransferTo != "" {
		return c.TransferTo
	}
	return c.Extension
}

// Record is one record a PBX prints, described by the normalized call its
// parser reads from it: the embedded Call holds exactly what parsing the
// written bytes gives back (but Format and Raw). Start is the wall-clock start
// in the writer's Location; StartUTC, when set, is that start's instant (it
// settles a wall clock that happened twice at a DST change). Writer.Records
// sets it to the instant a reader takes the printed stamps for, which for a
// local stamp in the autumn's repeated hour is the first of the two.
//
// The other fields are what some layouts print that a normalized call does
// not keep.
type Record struct {
	gateway.Call
	// Via is, for a transferred incoming call printed as one record, the
	// extension that answered first and transferred it (the Mitel MiVB
	// called party, the 3CX to-dn, the CUCM lastRedirectDn).
	Via string
	// Last marks the final record of a call printed as several records (all
	// with Continuation set): formats that flag "more records follow" flag
	// every record but the last (IP Office's continuation field).
	Last bool
	// Access is the outside-line access code a layout prints apart from the
	// dialed number (Avaya CM's code-dial).
	Access string
	// AnswerS is the seconds from the start to the answer (unanswered: until
	// the caller gave up) for layouts that stamp those moments but whose
	// parser reports no ring time (CUCM dateTimeConnect, 3CX time-answered,
	// an unanswered FreeSWITCH call's end). Call.RingS wins when set.
	AnswerS int
}

// answerSecs is the seconds from the record's start to its answer (or to the
// end of ringing).
func (r *Record) answerSecs() int {
	if r.RingS != nil {
		return *r.RingS
	}
	return r.AnswerS
}

// WriterOptions configures a Writer.
type WriterOptions struct {
	// Location is the PBX's time zone: records print wall-clock time in it
	// (formats that print UTC convert to it). Nil means UTC.
	Location *time.Location
	// CMFields is the avaya-cm customized layout, as for the parser; nil
	// means DefaultCMFields.
	CMFields []pbx.CMField
	// Framed makes mitel-5000 records 4-byte length-prefixed frames, as that
	// PBX sends them on its SMDR socket; without it they are plain lines, as
	// on its serial port.
	Framed bool
	// PageLines is the page length of formats that print a title at the top
	// of every page (panasonic, nec-sv): 0 means 66; negative prints the
	// title only at the start of the stream.
	PageLines int
	// CROnly ends panasonic lines with CR alone (the PBX's NL code CR)
	// instead of CR LF.
	CROnly bool
	// Plan is the dial plan, for layouts that print a call's type
	// (mitel-5000 LOC, TLD, O/I, 000). The zero value means NANP.
	Plan DialPlan
}

// recordWriter is what each writable format implements: records turns a
// simulated call into the records the PBX prints for it (none for a call it
// does not record), write appends one record's bytes, with the stream extras
// due before it (a date record, a page title), to dst. write must leave its
// state unchanged when it fails.
type recordWriter interface {
	records(c SimCall) []Record
	write(dst []byte, r *Record) ([]byte, error)
}

// writers holds the writer of each format that can be simulated, by the
// format's name in package pbx. template has none: its layout is the site's
// own.
var writers = map[string]func(WriterOptions) (recordWriter, error){
	"3cx":            newCX3Writer,
	"asterisk":       newAsteriskWriter,
	"asterisk-utc":   newAsteriskUTCWriter,
	"avaya-cm":       newCMWriter,
	"avaya-ipo":      newIPOWriter,
	"cisco-cucm":     newCUCMWriter,
	"freeswitch":     newFreeswitchWriter,
	"mitel-5000":     newM5000Writer,
	"mitel-mivb":     newMiVBWriter,
	"nec-sv":         newNECWriter,
	"panasonic":      newPanasonicWriter,
	"siemens-hipath": newHipathWriter,
}

// Writer prints calls as one PBX format's stream, with the stream's extras
// (headers, page titles, date records). A Writer keeps state between records
// (page line count, last date printed): use one per stream. It is not safe for
// concurrent use.
type Writer struct {
	format pbx.Format
	loc    *time.Location
	w      recordWriter
}

// NewWriter returns a writer for the format called name.
func NewWriter(name string, o WriterOptions) (*Writer, error) {
	f, err := pbx.LookupFormat(name)
	if err != nil {
		return nil, err
	}
	newWriter := writers[f.Name]
	if newWriter == nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "the %s format cannot be simulated: its layout is the site's own; use one of %s", name, strings.Join(WritableFormats(), ", "))
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.PageLines == 0 {
		o.PageLines = 66
	}
	if o.Plan.Country == "" {
		o.Plan = NANP()
	}
	w, err := newWriter(o)
	if err != nil {
		return nil, err
	}
	return &Writer{format: f, loc: o.Location, w: w}, nil
}

// WritableFormats returns the names of the formats a Writer can print, sorted.
func WritableFormats() []string {
	var names []string
	for _, f := range pbx.Formats() {
		if writers[f.Name] != nil {
			names = append(names, f.Name)
		}
	}
	return names
}

// Format returns the writer's format.
func (w *Writer) Format() pbx.Format { return w.format }

// Records returns the records the PBX prints for c, in the order it prints
// them; none for a call this PBX does not record (see each format's writer
// for what it leaves out).
func (w *Writer) Records(c SimCall) []Record { return w.w.records(c) }

// Append appends r's bytes to dst, with whatever the stream prints before it
// (a page title, a date record). A record the layout cannot hold (a field too
// wide for its columns, a separator inside a value, a combination the PBX
// never prints) is an error of kind invalid, and dst and the writer's state
// are left as they were.
func (w *Writer) Append(dst []byte, r Record) ([]byte, error) {
	if err := printable(&r); err != nil {
		return dst, gateway.Errorf(gateway.KindInvalid, "%s: %v", w.format.Name, err)
	}
	if r.Start.IsZero() && r.StartUTC.IsZero() {
		return dst, gateway.Errorf(gateway.KindInvalid, "%s: record has no start", w.format.Name)
	}
	if r.StartUTC.IsZero() {
		r.StartUTC, _ = pbx.Instant(r.Start, w.loc)
	}
	if r.DurationS < 0 || (r.RingS != nil && *r.RingS < 0) || r.AnswerS < 0 {
		return dst, gateway.Errorf(gateway.KindInvalid, "%s: negative duration or ring time", w.format.Name)
	}
	if !r.Direction.Valid() {
		return dst, gateway.Errorf(gateway.KindInvalid, "%s: direction %q is not out, in or internal", w.format.Name, r.Direction)
	}
	n := len(dst)
	out, err := w.w.write(dst, &r)
	if err != nil {
		return dst[:n], gateway.Errorf(gateway.KindInvalid, "%s: %v", w.format.Name, err)
	}
	return out, nil
}

// AppendCall appends the records of c and returns them.
func (w *Writer) AppendCall(dst []byte, c SimCall) ([]byte, []Record, error) {
	recs := w.Records(c)
	n := len(dst)
	for _, r := range recs {
		var err error
		if dst, err = w.Append(dst, r); err != nil {
			return dst[:n], nil, err
		}
	}
	return dst, recs, nil
}

// printable refuses control characters in a record's text fields: a line end
// inside a value would cut the record in two.
func printable(r *Record) error {
	for _, f := range []struct{ name, v string }{
		{"extension", r.Extension}, {"dialed", r.Dialed}, {"trunk", r.Trunk}, {"account code", r.AccountCode},
		{"caller id", r.CallerID}, {"call id", r.CallID}, {"via", r.Via}, {"access code", r.Access},
	} {
		for i := 0; i < len(f.v); i++ {
			if c := f.v[i]; c < 0x20 || c == 0x7f {
				return fmt.Errorf("the %s %q holds a control character", f.name, f.v)
			}
		}
	}
	return nil
}

// wallIn returns the wall clock of instant t in loc.
func wallIn(t time.Time, loc *time.Location) time.Time { return pbx.WallClock(t.In(loc)) }

// endOf returns the instant a record's call (or segment) ended: start, then
// ringing, then talk.
func (r *Record) endOf() time.Time {
	return r.StartUTC.Add(time.Duration(r.answerSecs()+r.DurationS) * time.Second)
}

// simRecord returns the record of c printed whole, in the terms every format
// starts from: the final extension, the whole talk, the ring, the dialed
// number with its access code, Via set for a transfer. Formats then take out
// what they do not print.
func simRecord(c SimCall, loc *time.Location) Record {
	r := Record{Call: gateway.Call{
		Start:       wallIn(c.Start, loc),
		StartUTC:    c.Start.UTC(),
		Direction:   c.Direction,
		Extension:   c.FinalExtension(),
		Dialed:      c.Dialed,
		AccountCode: c.AccountCode,
		Answered:    gateway.Bool(c.Answered),
		RingS:       gateway.Int(c.RingS),
		CallID:      strconv.FormatUint(c.ID, 10),
	}}
	// The true instant; formats that print local wall-clock starts move it
	// to the reader's (readerStart), which differs in the autumn's
	// repeated hour.
	_, r.TimeNote = pbx.Instant(r.Start, loc)
	if c.Direction == gateway.Incoming {
		r.CallerID = c.CallerID
	}
	if c.Answered {
		r.DurationS = c.TalkS
		if c.TransferTo != "" {
			r.Via = c.Extension
		}
	} else {
		r.Extension = c.Extension
	}
	return r
}

// simSegments returns the records of c as a PBX that prints one record per
// party prints them: a transferred call as the answering extension's part
// (ring, talk until the transfer) and the target's (the rest of the talk,
// no ring), both marked Continuation, the second Last; any other call whole.
// Both parts keep the call's start.
func simSegments(c SimCall, loc *time.Location) []Record {
	r := simRecord(c, loc)
	if c.TransferTo == "" || !c.Answered {
		return []Record{r}
	}
	first, second := r, r
	first.Via, second.Via = "", ""
	first.Extension = c.Extension
	first.DurationS = c.TransferAfterS
	first.Continuation = true
	second.Extension = c.TransferTo
	second.DurationS = c.TalkS - c.TransferAfterS
	second.RingS = gateway.Int(0)
	second.AnswerS = c.RingS + c.TransferAfterS
	second.Continuation, second.Last = true, true
	return []Record{first, second}
}

// lineRecord returns the record of c as a PBX that prints one line per call
// for the extension that had it last prints it: the number as sent to the
// trunk (stripAccess), no call id and no transferring extension.
func lineRecord(c SimCall, loc *time.Location) Record {
	r := simRecord(c, loc)
	stripAccess(&r, c)
	r.CallID, r.Via = "", ""
	return r
}

// trunkRecord is lineRecord for PBXs that record trunk calls only: internal
// calls and outgoing attempts nobody answered print nothing (ok false).
func trunkRecord(c SimCall, loc *time.Location) (r Record, ok bool) {
	if c.Direction == gateway.Internal || (c.Direction == gateway.Outgoing && !c.Answered) {
		return Record{}, false
	}
	return lineRecord(c, loc), true
}

// stripAccess removes the outside-line access code from the dialed number of
// r, for PBXs that print the number as sent to the trunk.
func stripAccess(r *Record, c SimCall) {
	if c.Direction == gateway.Outgoing && c.Access != "" && len(r.Dialed) > len(c.Access) && r.Dialed[:len(c.Access)] == c.Access {
		r.Dialed = r.Dialed[len(c.Access):]
	}
}

// readerStart sets a record's StartUTC to what a reader of its wall-clock
// start takes it for: the same instant, but in the autumn's repeated hour,
// where the reader takes the first of the two (and notes it).
func readerStart(r *Record, loc *time.Location) {
	r.StartUTC, r.TimeNote = pbx.Instant(r.Start, loc)
}

// setStart moves a record's start to the wall-clock time start, keeping
// StartUTC and TimeNote in step.
func setStart(r *Record, start time.Time, loc *time.Location) {
	r.Start = start
	r.StartUTC, r.TimeNote = pbx.Instant(start, loc)
}

// startToMinute truncates a start-stamped record's start to the minute, for
// layouts that print hh:mm.
func startToMinute(r *Record, loc *time.Location) {
	setStart(r, r.Start.Truncate(time.Minute), loc)
}

// endToMinute moves the start of an end-stamped record whose layout prints
// the end to the minute: the end is truncated to the minute and the start
// taken back from it by the seconds the record prints (secs), on the time
// line, as the parser does.
func endToMinute(r *Record, secs int, loc *time.Location) {
	end := wallIn(r.endOf(), loc).Truncate(time.Minute)
	at, note := pbx.Instant(end, loc)
	start := at.Add(-time.Duration(secs) * time.Second)
	r.StartUTC, r.TimeNote = start, note
	r.Start = wallIn(start, loc)
}

// endStamped sets the start of an end-stamped record whose layout prints the
// end to the second, as the reader takes it back from the end: the same
// instant, but for an end in the autumn's repeated hour, which the reader
// takes for the first of the two (and notes it).
func endStamped(r *Record, loc *time.Location) {
	secs := r.answerSecs() + r.DurationS
	if r.RingS == nil {
		secs = r.DurationS
	}
	at, note := pbx.Instant(wallIn(r.endOf(), loc), loc)
	r.StartUTC, r.TimeNote = at.Add(-time.Duration(secs)*time.Second), note
	r.Start = wallIn(r.StartUTC, loc)
}

// fixed builds a fixed-width record: columns are 1-based and inclusive, the
// first error is kept.
type fixed struct {
	b   []byte
	err error
}

func newFixed(width int) *fixed {
	f := &fixed{b: make([]byte, width)}
	for i := range f.b {
		f.b[i] = ' '
	}
	return f
}

// put writes s into columns from..to, left-aligned (or right-aligned), and
// records an error naming what when it does not fit.
func (f *fixed) put(from, to int, s, what string, right bool) {
	if f.err != nil {
		return
	}
	w := to - from + 1
	if len(s) > w {
		f.err = fmt.Errorf("the %s %q is wider than its %d columns (%d-%d)", what, s, w, from, to)
		return
	}
	if to > len(f.b) {
		nb := make([]byte, to)
		copy(nb, f.b)
		for i := len(f.b); i < to; i++ {
			nb[i] = ' '
		}
		f.b = nb
	}
	at := from - 1
	if right {
		at = to - len(s)
	}
	copy(f.b[at:], s)
}

func (f *fixed) left(from, to int, s, what string)  { f.put(from, to, s, what, false) }
func (f *fixed) right(from, to int, s, what string) { f.put(from, to, s, what, true) }

// trimmed returns the record without trailing blanks.
func (f *fixed) trimmed() []byte {
	b := f.b
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// field is one value of a record and its name, for messages.
type field struct{ what, s string }

// digitsOnly refuses a number holding what the parser removes from numbers
// (blanks, hyphens, #): it would not read back as written.
func digitsOnly(fs ...field) error {
	for _, v := range fs {
		if pbx.CleanDigits(v.s) != v.s {
			return fmt.Errorf("the %s %q holds blanks, hyphens or #, which the parser removes", v.what, v.s)
		}
	}
	return nil
}

// noBlankEdges is noSpaceEdges for each of fs.
func noBlankEdges(fs ...field) error {
	for _, v := range fs {
		if err := noSpaceEdges(v.what, v.s); err != nil {
			return err
		}
	}
	return nil
}

// noSpaceEdges refuses a value a fixed-width or trimmed CSV field would lose
// blanks from.
func noSpaceEdges(what, s string) error {
	if s != "" && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		return fmt.Errorf("the %s %q begins or ends with a blank, which the layout does not keep", what, s)
	}
	return nil
}

// fits refuses a record line longer than the longest record the framer
// passes whole: the gateway would cut it and quarantine it.
func fits(line []byte) error {
	if len(line) > pbx.DefaultMaxRecord {
		return fmt.Errorf("the record would be %d bytes long, more than the %d the gateway reads", len(line), pbx.DefaultMaxRecord)
	}
	return nil
}

// hhmmss formats seconds as hh:mm:ss (more hour digits past 99 hours).
func hhmmss(secs int) string {
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}

// answeredOf returns *r.Answered, or an error when the record does not say.
func answeredOf(r *Record) (bool, error) {
	if r.Answered == nil {
		return false, fmt.Errorf("the layout always says whether a call was answered: the record must too")
	}
	return *r.Answered, nil
}
