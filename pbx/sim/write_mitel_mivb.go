package sim

import (
	"fmt"
	"strconv"

	"callgate/gateway"
	"callgate/pbx"
)

// mivbWriter prints MiVoice Business SMDR with the 12-hour clock ("06:40P"),
// CR LF: the standard 90-column record extended to 112 columns by the
// ANI/DNIS option (calling number 92-101, DNIS 103-112), or the Extended
// Digit Length record (101 columns, no ANI/DNIS) when a party has more than 4
// characters or a call lasts 100 hours or more. A start with seconds is
// printed with them (the "start time with seconds" option), shifting the
// columns after it by 3.
//
// Records: one per call, stamped with its start to the minute. A transferred
// incoming call is one record: called party the front desk, transfer flag T,
// third party the room. Time to answer is printed for incoming and internal
// calls; an unanswered incoming call shows *** (and so no ring time). The
// digits are printed as dialed, with the outside-line access code; trunks are
// T001, T002, …. What the record does not carry: the year (inferred from the
// reading clock), the seconds of the start, the ring time of outgoing calls,
// a call id; a caller number longer than the 10 ANI columns is left out.
type mivbWriter struct {
	o WriterOptions
}

func newMiVBWriter(o WriterOptions) (recordWriter, error) { return &mivbWriter{o: o}, nil }

func (w *mivbWriter) records(c SimCall) []Record {
	loc := w.o.Location
	r := simRecord(c, loc)
	r.CallID = ""
	if c.Trunk > 0 {
		r.Trunk = fmt.Sprintf("T%03d", c.Trunk)
	}
	switch {
	case c.Direction == gateway.Outgoing:
		r.RingS = nil
	case c.Direction == gateway.Incoming && !c.Answered:
		r.RingS = nil
	}
	if len(r.CallerID) > 10 || len(c.Extension) > 4 || len(c.TransferTo) > 4 {
		r.CallerID = ""
	}
	startToMinute(&r, loc)
	return []Record{r}
}

// mivbWriteLayout is where a record's fields go, for a start without seconds.
type mivbWriteLayout struct {
	pbx.MiVBLayout
	partyWidth     int
	durFrom, durTo int
	sysFrom        int
	width          int
}

var (
	mivbWriteStandard = mivbWriteLayout{MiVBLayout: pbx.MiVBStandard, partyWidth: 4, durFrom: 15, durTo: 22, sysFrom: 86, width: 90}
	mivbWriteExtended = mivbWriteLayout{MiVBLayout: pbx.MiVBExtended, partyWidth: 7, durFrom: 15, durTo: 24, sysFrom: 97, width: 101}
)

func (w *mivbWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered := r.Answered
	if r.CallID != "" || r.Continuation {
		return dst, fmt.Errorf("a MiVB record carries no call id and is never one part of several")
	}
	if answered == nil && r.Direction != gateway.Outgoing {
		return dst, fmt.Errorf("MiVB always tells whether an incoming or internal call was answered")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"extension", r.Extension}, field{"trunk", r.Trunk}, field{"account code", r.AccountCode}, field{"via", r.Via}); err != nil {
		return dst, err
	}

	// The parties: calling, called, transfer flag, third.
	var calling, called, third, digits, xfer string
	switch r.Direction {
	case gateway.Incoming:
		if !pbx.MiVBTrunk(r.Trunk) {
			return dst, fmt.Errorf("an incoming MiVB record names its trunk as Tnnn or Xnnn, not %q", r.Trunk)
		}
		calling, called = r.Trunk, r.Extension
		if r.Via != "" {
			if answered != nil && !*answered {
				return dst, fmt.Errorf("an unanswered call was not transferred")
			}
			called, xfer, third = r.Via, "T", r.Extension
		}
		if pbx.MiVBTrunk(called) || pbx.MiVBTrunk(third) {
			return dst, fmt.Errorf("the extension %q reads as a trunk", r.Extension)
		}
	case gateway.Outgoing:
		if !pbx.MiVBTrunk(r.Trunk) {
			return dst, fmt.Errorf("an outgoing MiVB record names its trunk as Tnnn or Xnnn, not %q", r.Trunk)
		}
		calling, called, digits = r.Extension, r.Trunk, r.Dialed
	default:
		if r.Trunk != "" {
			return dst, fmt.Errorf("MiVB prints no trunk for an internal call")
		}
		calling = r.Extension
		if len(r.Dialed) <= mivbWriteExtended.partyWidth && !pbx.MiVBTrunk(r.Dialed) {
			called = r.Dialed
		} else {
			digits = r.Dialed
		}
	}
	if calling == "" || pbx.MiVBTrunk(calling) != (r.Direction == gateway.Incoming) {
		return dst, fmt.Errorf("the calling party %q cannot be printed for an %s call", calling, r.Direction)
	}
	if r.Via != "" && r.Direction != gateway.Incoming {
		return dst, fmt.Errorf("only an incoming call is printed as transferred")
	}

	// Status and time to answer.
	tta, status := "", ""
	if r.RingS != nil {
		tta = strconv.Itoa(*r.RingS)
	}
	switch {
	case answered == nil:
	case *answered:
		switch {
		case r.Direction == gateway.Outgoing:
			status = "A"
		case r.DurationS == 0 && r.RingS == nil:
			status = "A"
		case r.Direction == gateway.Internal:
			status = "I"
		}
	case r.Direction == gateway.Incoming && r.RingS == nil:
		tta = "***"
	default:
		status = "B"
	}
	if r.DurationS > 0 && answered != nil && !*answered {
		return dst, fmt.Errorf("an unanswered call has no duration")
	}

	lay := mivbWriteStandard
	if len(calling) > 4 || len(called) > 4 || len(third) > 4 || r.DurationS >= 100*3600 {
		lay = mivbWriteExtended
	}
	var dnis string
	if r.Direction == gateway.Incoming {
		if lay.ANIFrom != 0 && len(r.Dialed) <= 10 && pbx.MiVBNumber(r.Dialed) {
			dnis = r.Dialed
		} else {
			digits = r.Dialed
		}
	}
	if r.CallerID != "" && (lay.ANIFrom == 0 || len(r.CallerID) > 10 || !pbx.MiVBNumber(r.CallerID)) {
		return dst, fmt.Errorf("the caller id %q cannot be printed: ANI is 10 digits of the standard record", r.CallerID)
	}
	shift := 0
	if r.Start.Second() != 0 {
		shift = 3
	}
	if shift != 0 {
		lay.MiVBLayout = lay.MiVBLayout.Shifted(shift)
	}
	width := lay.width + shift
	if lay.ANIFrom != 0 {
		width = lay.ANIFrom + 20
	}

	f := newFixed(width)
	switch d := r.DurationS; {
	case d >= 1800:
		f.b[0] = '+'
	case d >= 600:
		f.b[0] = '%'
	case d >= 300:
		f.b[0] = '-'
	}
	h := r.Start.Hour()
	pm := " "
	switch {
	case h == 0:
		h = 12
	case h == 12:
		pm = "P"
	case h > 12:
		h, pm = h-12, "P"
	}
	clock := fmt.Sprintf("%02d:%02d", h, r.Start.Minute())
	if shift != 0 {
		clock += fmt.Sprintf(":%02d", r.Start.Second())
	}
	f.left(2, 6, r.Start.Format("01/02"), "date")
	f.left(8, 12+shift, clock, "start")
	f.left(13+shift, 13+shift, pm, "pm flag")
	dur := hhmmss(r.DurationS)
	if lay.width == mivbWriteExtended.width {
		dur = fmt.Sprintf("%04d:%02d:%02d", r.DurationS/3600, r.DurationS/60%60, r.DurationS%60)
	}
	f.left(lay.durFrom+shift, lay.durTo+shift, dur, "duration")
	f.left(lay.CallingFrom, lay.CallingTo, calling, "calling party")
	switch {
	case tta == "***":
		f.right(lay.Attendant+1, lay.TTATo, tta, "time to answer")
	case r.RingS != nil && *r.RingS <= 999:
		f.right(lay.Attendant+1, lay.TTATo, fmt.Sprintf("%03d", *r.RingS), "time to answer")
	default:
		f.right(lay.Attendant, lay.TTATo, tta, "time to answer")
	}
	if len(digits) > 26 {
		return dst, fmt.Errorf("the digits %q are more than the record's 26", digits)
	}
	f.left(lay.DigitsFrom, lay.DigitsFrom+25, digits, "digits")
	f.left(lay.Status, lay.Status, status, "status")
	f.left(lay.CalledFrom, lay.CalledTo, called, "called party")
	f.left(lay.Transfer, lay.Transfer, xfer, "transfer flag")
	f.left(lay.ThirdFrom, lay.ThirdTo, third, "third party")
	f.left(lay.AccountFrom, lay.AccountTo, r.AccountCode, "account code")
	f.left(lay.sysFrom+shift, lay.sysFrom+shift+2, "002", "system id")
	if lay.ANIFrom != 0 {
		f.left(lay.ANIFrom, lay.ANIFrom+9, r.CallerID, "ANI")
		f.left(lay.ANIFrom+11, lay.ANIFrom+20, dnis, "DNIS")
	}
	if f.err != nil {
		return dst, f.err
	}
	dst = append(dst, f.b...)
	return append(dst, '\r', '\n'), nil
}
