package sim

import (
	"fmt"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// cmWriter prints Avaya CM customized CDR records in the layout of
// WriterOptions.CMFields (default DefaultCMFields): every item right-aligned
// and blank-padded in its width, as a real capture shows
// (docs/pbx-formats.md, "Avaya Communication Manager"), CR LF.
// Before the first record and at the first record of each new day it prints a
// date record, "hh:mm mm/dd" CR LF and three NULs, as CM does at link-up and at
// midnight.
//
// Records: one per call, stamped at its end to the minute. Transfers are one
// record for the extension that had the call last (no incoming trunk call
// splitting); unanswered outgoing and internal attempts print nothing
// (Suppress CDR for Ineffective Call Attempts y); an abandoned incoming call is
// condition code H with its ring time. What a CM record does not carry: the
// ring time of answered calls (their start is the answer, a whole number of
// seconds before the minute stamp), the DID of incoming calls, a call id, a
// caller number wider than calling-num (10 by default). The
// outside-line access code goes to code-dial, the trunk group's access code
// (101 out, 111 in) to code-used / in-trk-code, the trunk's member number to
// out-crt-id / in-crt-id. With a "duration" item (hours, minutes, tenths)
// instead of sec-dur, durations are cut to a multiple of 6 seconds.
type cmWriter struct {
	o      WriterOptions
	items  []pbx.CMColumn
	cols   map[string]pbx.CMColumn // by name, the calling number under "calling"
	length int

	dated    bool // a date record was printed
	lastDate time.Time
}

const (
	cmOutTAC = "101"
	cmInTAC  = "111"
)

func newCMWriter(o WriterOptions) (recordWriter, error) {
	fields := o.CMFields
	if len(fields) == 0 {
		fields = pbx.DefaultCMFields()
	}
	if probs := pbx.CheckCMFields(fields); len(probs) > 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "avaya-cm layout: %s", probs[0].Msg)
	}
	w := &cmWriter{o: o, items: pbx.CMColumns(fields), cols: map[string]pbx.CMColumn{}}
	for _, c := range w.items {
		name := c.Name
		if name == "calling-num" || name == "clg-num/in-tac" {
			name = "calling" // the parser reads the first of the two
		}
		if _, ok := w.cols[name]; !ok {
			w.cols[name] = c
		}
		w.length = c.To
	}
	return w, nil
}

// has reports whether the layout prints the item called name.
func (w *cmWriter) has(name string) bool { _, ok := w.cols[name]; return ok }

func (w *cmWriter) records(c SimCall) []Record {
	if !c.Answered && c.Direction != gateway.Incoming {
		return nil
	}
	loc := w.o.Location
	r := simRecord(c, loc)
	r.Via, r.CallID = "", ""
	switch c.Direction {
	case gateway.Outgoing:
		if c.Access != "" && strings.HasPrefix(r.Dialed, c.Access) && w.has("code-dial") {
			r.Access = c.Access
			r.Dialed = r.Dialed[len(c.Access):]
		}
		if w.has("code-used") {
			r.Trunk = cmOutTAC
		}
	case gateway.Incoming:
		r.Dialed = ""
		if w.has("in-trk-code") {
			r.Trunk = cmInTAC
		}
		if len(r.CallerID) <= 4 && !w.has("in-trk-code") {
			r.CallerID = "" // would read as a trunk access code
		}
		if len(r.CallerID) > w.cols["calling"].To-w.cols["calling"].From+1 {
			r.CallerID = "" // CM prints the trunk access code then
		}
	}
	if !w.has("acct-code") && !w.has("auth-code") {
		r.AccountCode = ""
	}
	tenths := !w.has("sec-dur")
	if c.Direction == gateway.Incoming && !c.Answered {
		ring := c.RingS
		if tenths {
			ring -= ring % 6
		}
		r.RingS = gateway.Int(ring)
		endToMinute(&r, ring, loc)
		return []Record{r}
	}
	r.RingS, r.AnswerS = nil, c.RingS
	if tenths {
		r.DurationS -= r.DurationS % 6
	}
	endToMinute(&r, r.DurationS, loc)
	r.AnswerS = 0
	return []Record{r}
}

func (w *cmWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	if r.CallID != "" || r.Via != "" {
		return dst, fmt.Errorf("a CM record carries no call id and no transferring extension")
	}
	dur := r.DurationS
	var cond byte
	switch {
	case r.Continuation:
		if !answered && r.AnswerS > 0 {
			return dst, fmt.Errorf("an unanswered conference record has no duration")
		}
		cond = 'C'
	case !answered && r.RingS != nil && r.Direction == gateway.Incoming:
		cond, dur = 'H', *r.RingS
	case !answered && r.AnswerS > 0:
		// Ineffective: the duration printed is not talk time.
		cond, dur = 'E', r.AnswerS
	case r.Direction == gateway.Internal:
		cond = '0'
	case r.Direction == gateway.Outgoing:
		cond = '7'
	default:
		cond = '9'
	}
	if answered != (r.DurationS > 0) {
		return dst, fmt.Errorf("CM tells an answered call by its duration: answered %v with %d s cannot be printed", answered, r.DurationS)
	}
	if r.RingS != nil && cond != 'H' {
		return dst, fmt.Errorf("CM prints a ring time only for an abandoned incoming call (condition code H)")
	}
	if r.Direction == gateway.Incoming && r.Dialed != "" {
		return dst, fmt.Errorf("CM prints the called extension in dialed-num, not the number the caller dialed (%q)", r.Dialed)
	}
	if r.Direction != gateway.Outgoing && r.Access != "" {
		return dst, fmt.Errorf("only an outgoing call has an access code")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"extension", r.Extension}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"trunk", r.Trunk}, field{"account code", r.AccountCode}, field{"access code", r.Access}); err != nil {
		return dst, err
	}

	var durText string
	if w.has("sec-dur") {
		if dur == 9999 || dur == 99999 || dur > 99999 {
			return dst, fmt.Errorf("sec-dur %d cannot be printed: CM prints 09999 and 99999 only for a call during a clock change, and has 5 digits", dur)
		}
		durText = fmt.Sprintf("%05d", dur)
	} else {
		if dur%6 != 0 || dur >= 10*3600 {
			return dst, fmt.Errorf("a duration item holds hours, minutes and tenths of a minute up to 9:59.9: %d s cannot be printed", dur)
		}
		durText = fmt.Sprintf("%d%02d%d", dur/3600, dur/60%60, dur%60/6)
		if durText == "9999" {
			return dst, fmt.Errorf("duration 9999 is CM's mark for a clock change")
		}
	}

	end := wallIn(r.endOf(), w.o.Location)
	vals := map[string]string{
		"date": end.Format("010206"), "time": end.Format("1504"), "sec-dur": durText, "duration": durText,
		"cond-code": string(cond), "isdn-cc": "0", "ppm": "0",
	}
	var calling, dialed string
	switch r.Direction {
	case gateway.Incoming:
		dialed, calling = r.Extension, r.CallerID
		if calling == "" {
			calling = r.Trunk // CM prints the trunk access code when no number came
		} else if pbx.CMIsTAC(calling, r.Trunk, w.has("in-trk-code")) {
			return dst, fmt.Errorf("the caller id %q would read as the trunk's access code", calling)
		}
		if r.Trunk != "" {
			if !w.has("in-trk-code") {
				return dst, fmt.Errorf("the layout has no in-trk-code for the trunk %q", r.Trunk)
			}
			vals["in-trk-code"] = r.Trunk
		}
		vals["in-crt-id"] = "001"
	case gateway.Outgoing:
		dialed, calling = r.Dialed, r.Extension
		if r.Trunk != "" {
			if !w.has("code-used") {
				return dst, fmt.Errorf("the layout has no code-used for the trunk %q", r.Trunk)
			}
			vals["code-used"] = r.Trunk
		}
		if r.Access != "" {
			if !w.has("code-dial") {
				return dst, fmt.Errorf("the layout has no code-dial for the access code %q", r.Access)
			}
			vals["code-dial"] = r.Access
		}
		vals["out-crt-id"] = "001"
		if (cond == 'C' || cond == 'E') && r.Trunk == "" && r.Access == "" && !w.has("out-crt-id") {
			return dst, fmt.Errorf("the layout has no trunk item to show this record is outgoing")
		}
	default:
		if r.Trunk != "" {
			return dst, fmt.Errorf("CM prints no trunk for an internal call")
		}
		dialed, calling = r.Dialed, r.Extension
	}
	if r.Direction == gateway.Incoming && (cond == 'C' || cond == 'E') && r.Trunk == "" && !w.has("in-crt-id") {
		return dst, fmt.Errorf("the layout has no trunk item to show this record is incoming")
	}
	vals["dialed-num"] = dialed
	vals["calling-num"], vals["clg-num/in-tac"] = calling, calling
	switch {
	case r.AccountCode == "":
	case w.has("acct-code"):
		vals["acct-code"] = r.AccountCode
	case w.has("auth-code"):
		vals["auth-code"] = r.AccountCode
	default:
		return dst, fmt.Errorf("the layout has no acct-code or auth-code for the account code %q", r.AccountCode)
	}

	f := newFixed(w.length)
	callingDone := false
	for _, it := range w.items {
		v, ok := vals[it.Name]
		if !ok {
			continue
		}
		if it.Name == "calling-num" || it.Name == "clg-num/in-tac" {
			if callingDone {
				continue // the parser reads the first of the two
			}
			callingDone = true
		}
		f.right(it.From, it.To, v, it.Name)
	}
	if f.err != nil {
		return dst, f.err
	}
	if _, ok := vals["dialed-num"]; ok && dialed != "" && !w.has("dialed-num") {
		return dst, fmt.Errorf("the layout has no dialed-num")
	}

	day := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case !w.dated:
		dst = cmAppendDate(dst, end)
	case day.After(w.lastDate):
		dst = cmAppendDate(dst, day)
	}
	if !w.dated || day.After(w.lastDate) {
		w.dated, w.lastDate = true, day
	}
	dst = append(dst, f.b...)
	return append(dst, '\r', '\n'), nil
}

// cmAppendDate appends a date record: "hh:mm mm/dd", CR LF and the three NULs
// CM pads it with.
func cmAppendDate(dst []byte, t time.Time) []byte {
	dst = append(dst, t.Format("15:04 01/02")...)
	return append(dst, '\r', '\n', 0, 0, 0)
}
