package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var freeswitch = Format{
	Name:        "freeswitch",
	Description: "FreeSWITCH mod_cdr_csv Master.csv, \"example\" template: 15 quoted fields, local start/answer/end stamps",
	Settings: "autoload_configs/cdr_csv.conf.xml: default-template example (or a template that starts with its 15 fields, " +
		"like snom or linksys), legs a (b-leg records would count calls twice), rotate-on-hup true. " +
		"The gateway follows $log_dir/cdr-csv/Master.csv (pbx.transport file). Extensions must be at most 5 digits: " +
		"a longer caller or destination number is taken as an outside number.",
	newParser: func(Options) (recordParser, error) { return &freeswitchParser{}, nil },
}

// freeswitchExtLen is the longest number taken as an extension; a longer one
// (or one starting with '+') is an outside number.
const freeswitchExtLen = 5

// freeswitchParser reads FreeSWITCH mod_cdr_csv records in the "example"
// template (docs/pbx-formats.md, "FreeSWITCH mod_cdr_csv"). Fields, 1-based: 1
// caller_id_name, 2 caller_id_number, 3 destination_number, 4 context, 5
// start_stamp, 6 answer_stamp (empty when unanswered), 7 end_stamp (all local
// "YYYY-MM-DD HH:MM:SS"), 8 duration, 9 billsec, 10 hangup_cause, 11 uuid, 12
// bleg_uuid, 13 accountcode, 14 read_codec, 15 write_codec. Fields after the
// 15th (the snom and linksys templates) are ignored. mod_cdr_csv does not
// escape quotes inside values; a quote in a caller name stays in the name and
// does not shift the fields.
//
// The template carries no trunk and no answering extension. Direction:
//   - in: context "public"; or the caller number is an outside number (more
//     than 5 digits, or "+…") and the destination is not (the vanilla
//     dialplan transfers inbound calls from public to default, so the record
//     shows the extension and context default). A destination of at most 5
//     digits is the extension, a longer one the DID (dialed).
//   - out: the destination is an outside number; the extension is the caller.
//   - internal otherwise.
type freeswitchParser struct {
	csv csvLines
}

func (p *freeswitchParser) parse(line []byte, _ time.Time) (gateway.Call, error) {
	f, ok := p.csv.split(line)
	if f == nil {
		return gateway.Call{}, ErrSkip
	}
	if !ok {
		return gateway.Call{}, errorf("freeswitch: a quoted field is not closed: want the example template's \"caller_id_name\",\"caller_id_number\",…")
	}
	if len(f) >= 5 && strings.EqualFold(f[1], "caller_id_number") {
		return gateway.Call{}, ErrSkip // a header line someone added
	}
	if len(f) < 15 {
		return gateway.Call{}, errorf("freeswitch: %d fields, want the example template's 15", len(f))
	}
	ts, err := readCDRTimes("freeswitch", f, [4]int{4, 5, 7, 8}, [4]string{"start_stamp", "answer_stamp", "duration", "billsec"})
	if err != nil {
		return gateway.Call{}, err
	}
	start, answer, duration, billsec := ts.start, ts.answer, ts.duration, ts.billsec
	c := gateway.Call{
		Start:       start,
		DurationS:   billsec,
		AccountCode: strings.TrimSpace(f[12]),
		CallID:      strings.TrimSpace(f[10]),
	}
	// An answer stamp before the start is the epoch of an unanswered call
	// (old releases printed one): not an answer.
	answered := !answer.IsZero() && !answer.Before(start)
	c.Answered = gateway.Bool(answered)
	if answered {
		ring := int(answer.Sub(start) / time.Second)
		if ring > duration {
			ring = duration - billsec
		}
		if ring >= 0 {
			c.RingS = gateway.Int(ring)
		}
	}

	caller, dest := CleanDigits(f[1]), CleanDigits(f[2])
	ctx := strings.TrimSpace(f[3])
	switch {
	case strings.EqualFold(ctx, "public") || (FreeswitchOutside(caller) && !FreeswitchOutside(dest)):
		c.Direction = gateway.Incoming
		c.CallerID = caller
		if FreeswitchOutside(dest) {
			c.Dialed = dest
		} else {
			c.Extension = dest
		}
	case FreeswitchLeaves(dest):
		c.Direction = gateway.Outgoing
		c.Extension = caller
		c.Dialed = dest
	default:
		c.Direction = gateway.Internal
		c.Extension = caller
		c.Dialed = dest
	}
	return c, nil
}

// FreeswitchLeaves reports whether a call to n leaves the building: an
// outside number, or 911, which is never an extension in a US hotel (the law
// makes it reach emergency services directly).
func FreeswitchLeaves(n string) bool { return FreeswitchOutside(n) || n == "911" }

// FreeswitchOutside reports whether n is an outside number: longer than an
// extension, or in + form.
func FreeswitchOutside(n string) bool {
	return len(n) > freeswitchExtLen || (len(n) > 0 && n[0] == '+')
}
