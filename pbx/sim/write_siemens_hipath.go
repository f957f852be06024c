package sim

import (
	"fmt"
	"strconv"
	"time"

	"callgate/gateway"
)

// hipathWriter prints HiPath 3000 call charge records in the compressed form
// (104 columns, no separators, no header), CR LF.
//
// Records: one per trunk call, stamped with its end to the second; the start
// is the end less the duration and, for incoming calls, the ring time. Internal
// calls and unanswered outgoing attempts print nothing (call charge records
// are for trunk calls that connected, and unanswered incoming ones). A
// transferred call is one record for the extension that had it last.
// Incoming calls print the caller's number and, in the MSN column, the DID.
// What the record does not carry: ring time of outgoing calls (their start
// is the answer), a call id, durations of a day or more. Numbers are printed
// without the outside-line access code; trunks are 1, 2, ….
type hipathWriter struct {
	o WriterOptions
}

func newHipathWriter(o WriterOptions) (recordWriter, error) { return &hipathWriter{o: o}, nil }

func (w *hipathWriter) records(c SimCall) []Record {
	loc := w.o.Location
	r, ok := trunkRecord(c, loc)
	if !ok {
		return nil
	}
	r.Trunk = strconv.Itoa(c.Trunk)
	if c.Direction == gateway.Outgoing {
		// No ring time printed: the start read back is the answer.
		r.RingS = nil
		at := c.Start.Add(time.Duration(c.RingS) * time.Second)
		r.StartUTC, r.Start = at.UTC(), wallIn(at, loc)
	}
	endStamped(&r, loc)
	return []Record{r}
}

func (w *hipathWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case r.CallID != "" || r.Via != "":
		return dst, fmt.Errorf("a HiPath record carries no call id and no transferring extension")
	case r.Direction == gateway.Internal:
		return dst, fmt.Errorf("HiPath prints call charge records for trunk calls only, not internal ones")
	case answered != (r.DurationS > 0):
		return dst, fmt.Errorf("HiPath tells an answered call by its duration: answered %v with %d s cannot be printed", answered, r.DurationS)
	case r.DurationS >= 24*3600:
		return dst, fmt.Errorf("duration %d s is a day or more, which hh:mm:ss does not hold", r.DurationS)
	case r.RingS != nil && *r.RingS >= 3600:
		return dst, fmt.Errorf("ring time %d s is more than mm:ss holds", *r.RingS)
	case r.Direction == gateway.Outgoing && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"extension", r.Extension}, field{"trunk", r.Trunk}, field{"account code", r.AccountCode}); err != nil {
		return dst, err
	}
	number, msn, info := r.Dialed, "", 2
	if r.Direction == gateway.Incoming {
		number, msn, info = r.CallerID, r.Dialed, 1
	}
	if r.Continuation {
		info += 4 // 5 incoming forwarded, 6 outgoing forwarded
	}
	end := wallIn(r.endOf(), w.o.Location)
	f := newFixed(104)
	f.left(1, 8, end.Format("02.01.06"), "date")
	f.left(9, 16, end.Format("15:04:05"), "time")
	f.right(17, 19, r.Trunk, "trunk")
	f.right(20, 25, r.Extension, "extension")
	if r.RingS != nil {
		f.left(26, 30, fmt.Sprintf("%02d:%02d", *r.RingS/60, *r.RingS%60), "ring time")
	}
	f.left(31, 38, hhmmss(r.DurationS), "duration")
	f.left(39, 63, number, "number")
	f.right(75, 76, strconv.Itoa(info), "information element")
	f.left(77, 87, r.AccountCode, "account code")
	f.left(88, 98, msn, "MSN")
	if r.Direction == gateway.Outgoing {
		f.right(99, 104, "0", "LCR code")
	}
	if f.err != nil {
		return dst, f.err
	}
	dst = append(dst, f.b...)
	return append(dst, '\r', '\n'), nil
}
