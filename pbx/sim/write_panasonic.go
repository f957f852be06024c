package sim

import (
	"fmt"
	"strings"

	"callgate/gateway"
)

// panasonicWriter prints Panasonic SMDR in Pattern A (80 columns) with the
// factory date order mm/dd/yy and the 12-hour clock, CR LF (CR alone with
// WriterOptions.CROnly), and the title and
// dash lines at the start and at the top of every page of
// WriterOptions.PageLines lines.
//
// Records: one per call, stamped with its end to the minute; the start is
// taken back from it by the duration and the ring time. Ring time is printed
// for incoming calls only. A transferred call is the front desk's record
// (ring, talk until the transfer) and the room's, condition code TR (the rest
// of the talk). Incoming calls print <D>DID<I>caller; when that does not fit
// the 25 columns the DID is left out (and a caller number that alone does not
// fit too). Outgoing numbers are printed without the outside-line access code
// (the CO line is its own column), intercom calls as EXTnnn. What the record
// does not carry: the seconds of the end (so the start is off by up to a
// minute, consistently), the ring time of outgoing and internal calls, a call
// id, a ring time of 10 minutes or more. CO lines are 01, 02, ….
type panasonicWriter struct {
	o       WriterOptions
	started bool
	lineNo  int
}

func newPanasonicWriter(o WriterOptions) (recordWriter, error) { return &panasonicWriter{o: o}, nil }

func (w *panasonicWriter) records(c SimCall) []Record {
	loc := w.o.Location
	r := lineRecord(c, loc)
	if c.Trunk > 0 {
		r.Trunk = fmt.Sprintf("%02d", c.Trunk)
	}
	if c.Direction == gateway.Incoming {
		switch {
		case len("<D><I>")+len(r.Dialed)+len(r.CallerID) <= 25:
		case len("<I>")+len(r.CallerID) <= 25:
			r.Dialed = ""
		default:
			r.Dialed, r.CallerID = "", ""
		}
		if c.TransferTo != "" && c.Answered {
			first, second := r, r
			first.Extension, first.DurationS = c.Extension, c.TransferAfterS
			endToMinute(&first, c.RingS+c.TransferAfterS, loc)
			second.Continuation, second.RingS = true, nil
			second.AnswerS = c.RingS + c.TransferAfterS
			second.DurationS = c.TalkS - c.TransferAfterS
			endToMinute(&second, second.DurationS, loc)
			second.AnswerS = 0
			return []Record{first, second}
		}
		endToMinute(&r, c.RingS+r.DurationS, loc)
		return []Record{r}
	}
	r.RingS, r.AnswerS = nil, c.RingS
	endToMinute(&r, r.DurationS, loc)
	r.AnswerS = 0
	return []Record{r}
}

const panasonicTitle = "  Date     Time    Ext CO        Dial Number        Ring Duration  Acc code  CD "

func (w *panasonicWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case r.CallID != "" || r.Via != "":
		return dst, fmt.Errorf("a Panasonic record carries no call id and no transferring extension")
	case answered != (r.DurationS > 0):
		return dst, fmt.Errorf("Panasonic tells an answered call by its duration: answered %v with %d s cannot be printed", answered, r.DurationS)
	case r.DurationS >= 100*3600:
		return dst, fmt.Errorf("duration %d s is more than hh:mm'ss holds", r.DurationS)
	case len(r.Extension) > 1 && r.Extension[0] == '*' && r.AccountCode == "":
		return dst, fmt.Errorf("an extension *nnn is a verification code, which the reader takes as the account code")
	}
	if err := noBlankEdges(field{"extension", r.Extension}, field{"trunk", r.Trunk}, field{"account code", r.AccountCode}); err != nil {
		return dst, err
	}
	var dial string
	switch r.Direction {
	case gateway.Incoming:
		if !panasonicDigitsOrEmpty(r.Dialed) || !panasonicDigitsOrEmpty(r.CallerID) {
			return dst, fmt.Errorf("Panasonic prints caller and DID numbers as digits; %q and %q are not", r.CallerID, r.Dialed)
		}
		dial = "<I>" + r.CallerID
		if r.Dialed != "" {
			dial = "<D>" + r.Dialed + dial
		}
	case gateway.Internal:
		if !gateway.IsDigits(r.Dialed) {
			return dst, fmt.Errorf("an intercom record names the called extension in digits (EXTnnn), not %q", r.Dialed)
		}
		dial = "EXT" + r.Dialed
	default:
		if r.CallerID != "" {
			return dst, fmt.Errorf("only an incoming call has a caller id")
		}
		if r.Dialed == "" && r.RingS != nil {
			return dst, fmt.Errorf("a record with a ring time and no number reads as incoming")
		}
		b := []byte(r.Dialed)
		for i, c := range b {
			switch {
			case c >= '0' && c <= '9', c == '*', c == '+':
			case c == '?':
				b[i] = 'X'
			default:
				return dst, fmt.Errorf("the dialed number %q holds %q, which Panasonic does not print", r.Dialed, c)
			}
		}
		dial = string(b)
	}
	ring := ""
	if r.RingS != nil {
		if *r.RingS >= 600 {
			return dst, fmt.Errorf("ring time %d s is more than m'ss holds", *r.RingS)
		}
		ring = fmt.Sprintf("%d'%02d", *r.RingS/60, *r.RingS%60)
	}
	end := wallIn(r.endOf(), w.o.Location)
	h := end.Hour() % 12
	if h == 0 {
		h = 12
	}
	ampm := "AM"
	if end.Hour() >= 12 {
		ampm = "PM"
	}
	f := newFixed(80)
	f.left(1, 8, end.Format("01/02/06"), "date")
	f.left(10, 16, fmt.Sprintf("%02d:%02d%s", h, end.Minute(), ampm), "time")
	f.right(18, 22, r.Extension, "extension")
	f.left(24, 25, r.Trunk, "CO line")
	f.left(27, 51, dial, "dial number")
	f.right(53, 56, ring, "ring time")
	f.left(58, 65, fmt.Sprintf("%02d:%02d'%02d", r.DurationS/3600, r.DurationS/60%60, r.DurationS%60), "duration")
	f.left(67, 76, r.AccountCode, "account code")
	if r.Continuation {
		f.left(78, 79, "TR", "condition")
	}
	if f.err != nil {
		return dst, f.err
	}
	nl := "\r\n"
	if w.o.CROnly {
		nl = "\r"
	}
	if !w.started || (w.o.PageLines > 0 && w.lineNo+1 > w.o.PageLines) {
		dst = append(dst, panasonicTitle...)
		dst = append(dst, nl...)
		dst = append(dst, strings.Repeat("-", 80)...)
		dst = append(dst, nl...)
		w.started, w.lineNo = true, 2
	}
	dst = append(dst, f.b...)
	w.lineNo++
	return append(dst, nl...), nil
}

func panasonicDigitsOrEmpty(s string) bool { return s == "" || gateway.IsDigits(s) }
