package sim

import (
	"fmt"
	"strconv"
	"strings"

	"callgate/gateway"
	"callgate/pbx"
)

// ipoWriter prints IP Office SMDR (R11 and later: 35 fields), CRLF.
//
// Records: one per call segment. A transferred call is two records with the
// same call id and start: the front desk's (ring, talk until the transfer,
// continuation 1) and the room's (the rest of the talk, ring 0, continuation
// 0). Everything the simulator generates is printed: unanswered attempts of
// every direction, internal calls, ring time of every call. The dialed number
// is printed without the outside-line access code (IP Office's short codes
// strip it before the trunk). Trunks are lines 9001, 9002, … (party device
// T9001); the call id is 1000000 + the simulated call's ID.
type ipoWriter struct {
	o WriterOptions
}

func newIPOWriter(o WriterOptions) (recordWriter, error) { return &ipoWriter{o: o}, nil }

func (w *ipoWriter) records(c SimCall) []Record {
	recs := simSegments(c, w.o.Location)
	for i := range recs {
		r := &recs[i]
		stripAccess(r, c)
		r.AnswerS, r.Via = 0, ""
		readerStart(r, w.o.Location)
		r.CallID = strconv.FormatUint(1000000+c.ID, 10)
		if c.Trunk > 0 {
			r.Trunk = strconv.Itoa(9000 + c.Trunk)
		}
	}
	return recs
}

func (w *ipoWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	if answered != (r.DurationS > 0) {
		return dst, fmt.Errorf("IP Office tells an answered call by its connected time: answered %v with %d s cannot be printed", answered, r.DurationS)
	}
	for _, v := range []struct{ what, s string }{
		{"extension", r.Extension}, {"dialed number", r.Dialed}, {"trunk", r.Trunk}, {"account code", r.AccountCode},
		{"caller id", r.CallerID}, {"call id", r.CallID},
	} {
		if strings.IndexByte(v.s, ',') >= 0 || strings.HasPrefix(v.s, `"`) {
			return dst, fmt.Errorf("the %s %q holds a comma or starts with a quote: IP Office SMDR has no quoting", v.what, v.s)
		}
		if err := noSpaceEdges(v.what, v.s); err != nil {
			return dst, err
		}
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if r.Trunk != "" && !pbx.IPODevice("T"+r.Trunk) {
		return dst, fmt.Errorf("the trunk %q is not a line number (IP Office prints T and the line's number)", r.Trunk)
	}
	ring := 0
	if r.RingS != nil {
		ring = *r.RingS
	}
	f := make([]string, 35)
	f[0] = r.Start.Format("2006/01/02 15:04:05")
	f[1] = hhmmss(r.DurationS)
	f[2] = strconv.Itoa(ring)
	f[7] = r.AccountCode
	f[9] = r.CallID
	f[10] = "0"
	if r.Continuation && !r.Last {
		f[10] = "1"
	}
	f[15], f[16], f[17], f[18] = "0", "0", "0", "n/a"
	party1 := func(ext string) {
		if ext != "" {
			f[11], f[12] = "E"+ext, "Extn"+ext
		}
	}
	if r.Trunk != "" {
		f[13], f[14] = "T"+r.Trunk, "Line "+r.Trunk
	}
	switch r.Direction {
	case gateway.Internal:
		f[3], f[4], f[5], f[6], f[8] = r.Extension, "O", r.Dialed, r.Dialed, "1"
		party1(r.Extension)
		if r.Trunk == "" && r.Dialed != "" {
			f[13], f[14] = "E"+r.Dialed, "Extn"+r.Dialed
		}
	case gateway.Outgoing:
		f[3], f[4], f[5], f[6], f[8] = r.Extension, "O", r.Dialed, r.Dialed, "0"
		party1(r.Extension)
	default:
		f[3], f[4], f[5], f[6], f[8] = r.CallerID, "I", r.Extension, r.Dialed, "0"
		party1(r.Extension)
	}
	line := strings.Join(f, ",")
	if err := fits([]byte(line)); err != nil {
		return dst, err
	}
	dst = append(dst, line...)
	return append(dst, '\r', '\n'), nil
}
