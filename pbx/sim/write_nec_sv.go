package sim

import (
	"fmt"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// necWriter prints the NEC SL/SV SMDR report with 35-02-14 = 1 (date and
// line columns), CR LF: a two-line page header (MM/DD/YYYY PAGE nnn, the
// column titles, CR LF LF) at the start, every WriterOptions.PageLines lines
// and at the first record of a new day, which the daily summary of the day
// before precedes.
//
// Records: POT outgoing, PIN incoming (NO ANSWER when unanswered), ICM
// internal (printed without date and line, as NEC does, unless the reader
// could not date it from the record before), PTRS the part of a transferred
// call after the transfer: a transferred call is the front desk's PIN (talk
// until the transfer) and the room's PTRS. Times are when the call was placed
// (outgoing, internal, unanswered) or answered (incoming), to the minute.
// Unanswered outgoing and internal attempts print nothing. What the report
// does not carry: ring time, the DID of incoming calls, a call id, the seconds
// of the start. Numbers are printed without the outside-line access code;
// lines are 001, 002, ….
type necWriter struct {
	o WriterOptions
	// Parser mirror: the start of the latest record or page header, and the
	// direction of each line's latest call, as the reader will have them.
	last  time.Time
	lines map[string]gateway.Direction
	// Page state.
	started  bool
	day      time.Time // the day of the current page
	page     int
	lineNo   int // lines printed on the current page
	outCalls int // outgoing calls printed on the current day, for its summary
}

func newNECWriter(o WriterOptions) (recordWriter, error) { return &necWriter{o: o}, nil }

func (w *necWriter) records(c SimCall) []Record {
	if !c.Answered && c.Direction != gateway.Incoming {
		return nil
	}
	loc := w.o.Location
	r := lineRecord(c, loc)
	r.RingS = nil
	if c.Trunk > 0 {
		r.Trunk = fmt.Sprintf("%03d", c.Trunk)
	}
	if c.Direction != gateway.Incoming || !c.Answered {
		if c.Direction == gateway.Incoming {
			r.Dialed = ""
		}
		startToMinute(&r, loc)
		return []Record{r}
	}
	r.Dialed = ""
	answer := c.Start.Add(time.Duration(c.RingS) * time.Second)
	setStart(&r, wallIn(answer, loc), loc)
	startToMinute(&r, loc)
	if c.TransferTo == "" {
		return []Record{r}
	}
	first, second := r, r
	first.Extension, first.DurationS = c.Extension, c.TransferAfterS
	second.Extension, second.DurationS, second.Continuation = c.TransferTo, c.TalkS-c.TransferAfterS, true
	setStart(&second, wallIn(answer.Add(time.Duration(c.TransferAfterS)*time.Second), loc), loc)
	startToMinute(&second, loc)
	return []Record{first, second}
}

const necColumns = "CLASS TIME DATE  LINE DURATION  STATION     DIALLED No./CLI    ACCOUNT"

func (w *necWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case r.CallID != "" || r.Via != "":
		return dst, fmt.Errorf("an NEC record carries no call id and no transferring extension")
	case r.RingS != nil:
		return dst, fmt.Errorf("the NEC report prints no ring time")
	case !answered && (r.DurationS != 0 || r.AccountCode != ""):
		return dst, fmt.Errorf("an unanswered call is printed NO ANSWER, with no duration and no account code")
	case r.AccountCode == "NO ANSWER":
		return dst, fmt.Errorf("the account code NO ANSWER reads as an unanswered call")
	case r.Direction == gateway.Incoming && r.Dialed != "":
		return dst, fmt.Errorf("the NEC report has no column for the number an incoming caller dialed")
	case r.Direction != gateway.Incoming && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	case r.DurationS >= 100*3600:
		return dst, fmt.Errorf("duration %d s is more than HH:MM:SS holds", r.DurationS)
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"extension", r.Extension}, field{"trunk", r.Trunk}, field{"account code", r.AccountCode}); err != nil {
		return dst, err
	}

	class := "POT"
	switch {
	case r.Continuation:
		class = "PTRS"
		dir := w.lines[r.Trunk]
		if dir == "" {
			dir = gateway.Incoming
		}
		if dir != r.Direction || r.Trunk == "" && r.Direction != gateway.Incoming {
			return dst, fmt.Errorf("a transfer record (PTRS) takes the direction of its line's last call, %s here, not %s", dir, r.Direction)
		}
	case r.Direction == gateway.Incoming:
		class = "PIN"
	case r.Direction == gateway.Internal:
		class = "ICM"
		if r.Trunk != "" {
			return dst, fmt.Errorf("NEC prints no line for an internal call")
		}
	}
	number := r.Dialed
	if r.Direction == gateway.Incoming {
		number = r.CallerID
	}
	account := r.AccountCode
	if !answered {
		account = "NO ANSWER"
	}

	// Page header, daily summary: at the start, on a new day, on a full page.
	printed := wallIn(r.endOf(), w.o.Location)
	today := day(printed)
	newDay := w.started && today.After(w.day)
	needHeader := !w.started || newDay || (w.o.PageLines > 0 && w.lineNo+1 > w.o.PageLines)
	last := w.last
	if needHeader && (last.IsZero() || !day(last).Equal(today)) {
		last = today // what the header tells the reader
	}

	f := newFixed(79)
	f.left(1, 5, class, "class")
	f.left(6, 10, r.Start.Format("15:04"), "time")
	// An ICM record has no date and no line: the reader dates it from the
	// record before. Print the date when that would give another day.
	// So has every record of a site with 35-02-14 = 0, whose line names (up to
	// 10 characters) fill columns 12-21: a line too wide for columns 18-21 is
	// printed so, when the reader can date the record.
	canUndate := !last.IsZero() && necUndatedDay(last, r.Start).Equal(day(r.Start))
	wide := len(r.Trunk) > 4
	switch {
	case class == "ICM" && canUndate:
	case wide && canUndate && !(len(r.Trunk) >= 5 && r.Trunk[2] == '/'):
		f.left(12, 21, r.Trunk, "line")
	case wide:
		return dst, fmt.Errorf("the line %q is wider than the 4 columns of a dated record, and an undated one would be read on another day", r.Trunk)
	default:
		f.left(12, 16, r.Start.Format("01/02"), "date")
		f.right(18, 21, r.Trunk, "line")
	}
	f.left(23, 30, hhmmss(r.DurationS), "duration")
	f.left(32, 41, r.Extension, "station")
	f.left(43, 62, number, "number")
	f.left(64, 79, account, "account")
	if f.err != nil {
		return dst, f.err
	}

	if newDay {
		dst = w.summary(dst)
	}
	if needHeader {
		if !w.started || newDay {
			w.day = today
		}
		dst = w.header(dst, today)
	}
	w.started = true
	dst = append(dst, f.trimmed()...)
	dst = append(dst, '\r', '\n')
	w.lineNo++
	if r.Direction == gateway.Outgoing {
		w.outCalls++
	}
	// Mirror the reader.
	w.last = r.Start
	if r.Trunk != "" && r.Direction != gateway.Internal && !r.Continuation {
		if w.lines == nil || len(w.lines) >= pbx.NECMaxLines {
			w.lines = make(map[string]gateway.Direction)
		}
		w.lines[r.Trunk] = r.Direction
	}
	return dst, nil
}

// header appends a page header dated d and resets the page.
func (w *necWriter) header(dst []byte, d time.Time) []byte {
	w.page = w.page%999 + 1
	dst = fmt.Appendf(dst, "%60s%s PAGE %03d\r\n", "", d.Format("01/02/2006"), w.page)
	dst = append(dst, necColumns...)
	dst = append(dst, '\r', '\n', '\n')
	w.lineNo = 3
	if w.last.IsZero() || !day(w.last).Equal(d) {
		w.last = d
	}
	return dst
}

// summary appends the daily summary of the current day.
func (w *necWriter) summary(dst []byte) []byte {
	dst = append(dst, "\r\nOUTGOING CALL/COST SUMMARY\r\n"...)
	dst = fmt.Appendf(dst, "FOR DAY OF %s\r\n", w.day.Format("01/02/06"))
	dst = fmt.Appendf(dst, "TOTAL NO. OF OUTGOING PSTN CALLS: %5d\r\n", w.outCalls)
	dst = fmt.Appendf(dst, "TOTAL NO. OF OUTGOING ISDN CALLS: %5d\r\n\r\n", 0)
	w.outCalls = 0
	return dst
}

// necUndatedDay is the reader's date for an undated record starting at t's
// time of day after a record (or page header) at last: last's day, a day later
// when t is more than 12 hours before it (see necParser.undatedDay).
func necUndatedDay(last, t time.Time) time.Time {
	d := day(last)
	if (last.Hour()*60+last.Minute())-(t.Hour()*60+t.Minute()) > 12*60 {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// day returns midnight of t's date, in time.UTC (wall clock).
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
