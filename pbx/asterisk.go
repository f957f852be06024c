package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

const asteriskSettings = "cdr.conf [general]: enable=yes, unanswered=yes (else unanswered calls are not logged); " +
	"[csv]: loguniqueid=yes, loguserfield=yes, newcdrcolumns=yes (linkedid ties the records of a transferred call together), " +
	"usegmtime=no for format asterisk, usegmtime=yes for format asterisk-utc. " +
	"The gateway follows /var/log/asterisk/cdr-csv/Master.csv (pbx.transport file). " +
	"Name phone endpoints by their extension number (PJSIP/415) and trunks by a name with a letter (PJSIP/sip-provider); " +
	"route inbound trunks into a context named from-pstn, from-trunk…, from-did…, ext-did…, from-external…, public…, incoming… or inbound…."

var asterisk = Format{
	Name:        "asterisk",
	Description: "Asterisk cdr_csv Master.csv: quoted CSV, 16 to 21 fields, local-time start/answer/end stamps (usegmtime=no)",
	Settings:    asteriskSettings,
	newParser:   func(Options) (recordParser, error) { return &asteriskParser{}, nil },
}

var asteriskUTC = Format{
	Name:        "asterisk-utc",
	Description: "Asterisk cdr_csv Master.csv written with usegmtime=yes (the sample cdr.conf's setting): stamps in UTC",
	Settings:    asteriskSettings,
	newParser:   func(Options) (recordParser, error) { return &asteriskParser{utc: true}, nil },
}

// asteriskParser reads Asterisk cdr_csv records (docs/pbx-formats.md,
// "Asterisk cdr_csv"). Fields, 1-based: 1 accountcode, 2 src, 3 dst, 4
// dcontext, 5 clid ("Name" <num>), 6 channel, 7 dstchannel, 8 lastapp, 9
// lastdata, 10 start, 11 answer (empty when unanswered), 12 end, 13 duration
// (s, start to end), 14 billsec (s, answer to end), 15 disposition, 16
// amaflags, then as cdr.conf [csv] asks: uniqueid (loguniqueid), userfield
// (loguserfield), and peeraccount, linkedid, sequence (newcdrcolumns). 17 or
// 20 fields hold only one of uniqueid and userfield: it is taken as the
// uniqueid when it looks like one ("1730832002.101", optionally
// "systemname-1730832002.101").
//
// Direction, from dcontext and the channels (an endpoint named by digits is
// an extension, any other name a trunk; Local/415@ctx is extension 415):
//   - in: dcontext is an inbound context (from-pstn, from-trunk*, from-did*,
//     ext-did*, from-external*, public*, incoming*, inbound*), or the calling
//     channel is a trunk and the called one is not. Trunk = the calling
//     channel's peer, extension = the called channel's (the answering or, when
//     unanswered, the rung extension), dialed = dst (the DID), caller id = src
//     (else the number in clid).
//   - out: the called channel is a trunk (or, with no called channel, Dial's
//     argument names one: PJSIP/num@trunk, SIP/trunk/num). A numbered DAHDI
//     channel counts as a trunk when dst has more than 5 digits. Trunk = its
//     peer, extension = the calling channel's extension (else src).
//   - internal otherwise: extension = the caller, dialed = dst.
//
// Asterisk 12+ writes several records for one call (transfers, forks); with
// newcdrcolumns they share the linkedid, which becomes the call id (else the
// uniqueid). A record is a continuation when its linkedid differs from its
// uniqueid or its call id was seen before; the first record of a call cannot
// be told apart from a whole call.
type asteriskParser struct {
	utc  bool
	csv  csvLines
	seen map[string]bool // call ids seen, for continuation; bounded
}

// AsteriskMaxSeen bounds the seen-call set; the simulator's writer forgets
// calls at the same count, as a reader does.
const AsteriskMaxSeen = 10000

func (p *asteriskParser) parse(line []byte, _ time.Time) (gateway.Call, error) {
	f, ok := p.csv.split(line)
	if f == nil {
		return gateway.Call{}, ErrSkip
	}
	if !ok {
		return gateway.Call{}, errorf("asterisk: a quoted field is not closed: want the cdr_csv form \"accountcode\",\"src\",…")
	}
	if len(f) >= 3 && strings.EqualFold(f[1], "src") && strings.EqualFold(f[2], "dst") {
		return gateway.Call{}, ErrSkip // a header line someone added
	}
	if len(f) < 16 || len(f) > 21 {
		return gateway.Call{}, errorf("asterisk: %d fields, want 16 to 21 (cdr_csv: 16, plus uniqueid, userfield, and peeraccount, linkedid, sequence)", len(f))
	}
	ts, err := readCDRTimes("asterisk", f, [4]int{9, 10, 12, 13}, [4]string{"start", "answer", "duration", "billsec"})
	if err != nil {
		return gateway.Call{}, err
	}
	start, answer, duration, billsec := ts.start, ts.answer, ts.duration, ts.billsec

	var c gateway.Call
	if p.utc {
		c.StartUTC = start
	} else {
		c.Start = start
	}
	c.DurationS = billsec
	c.AccountCode = strings.TrimSpace(f[0])

	disp := strings.ToUpper(strings.TrimSpace(f[14]))
	var answered bool
	switch disp {
	case "ANSWERED":
		answered = true
	case "NO ANSWER", "BUSY", "FAILED", "CONGESTION":
	default: // NULL, UNKNOWN: go by the answer stamp
		answered = !answer.IsZero()
	}
	c.Answered = gateway.Bool(answered)
	switch {
	case answered:
		ring := -1
		if !answer.IsZero() {
			ring = int(answer.Sub(start) / time.Second)
		}
		if ring < 0 || ring > duration {
			ring = duration - billsec
		}
		if ring >= 0 {
			c.RingS = gateway.Int(ring)
		}
	case disp == "NO ANSWER":
		c.RingS = gateway.Int(duration) // it rang the whole time
	}

	uniqueID, linkedID := asteriskIDs(f)
	c.CallID = uniqueID
	if linkedID != "" {
		c.CallID = linkedID
	}
	if c.CallID != "" {
		c.Continuation = (linkedID != "" && uniqueID != "" && linkedID != uniqueID) || p.seen[c.CallID]
		if !p.seen[c.CallID] {
			if p.seen == nil || len(p.seen) >= AsteriskMaxSeen {
				p.seen = make(map[string]bool)
			}
			p.seen[strings.Clone(c.CallID)] = true // not a substring keeping the line
		}
	}

	src, dst, dcontext := strings.TrimSpace(f[1]), strings.TrimSpace(f[2]), strings.TrimSpace(f[3])
	chanPeer, chanTrunk := asteriskEndpoint(f[5])
	dstPeer, dstTrunk := asteriskEndpoint(f[6])
	if !dstTrunk && dstPeer != "" && asteriskIsDAHDI(f[6]) && len(CleanDigits(dst)) > 5 {
		dstTrunk = true // a numbered DAHDI line (FXO) dialing out
	}
	if f[6] == "" && strings.EqualFold(strings.TrimSpace(f[7]), "Dial") {
		if t := asteriskDialTrunk(f[8]); t != "" {
			dstPeer, dstTrunk = t, true
		}
	}
	switch {
	case asteriskInboundContext(dcontext) || (chanTrunk && !dstTrunk):
		c.Direction = gateway.Incoming
		if chanTrunk {
			c.Trunk = chanPeer
		}
		if !dstTrunk {
			c.Extension = dstPeer
		}
		if AsteriskNumber(dst) {
			c.Dialed = CleanDigits(dst)
		}
		if AsteriskNumber(src) {
			c.CallerID = CleanDigits(src)
		} else if n := asteriskClidNumber(f[4]); AsteriskNumber(n) {
			c.CallerID = CleanDigits(n)
		}
	case dstTrunk:
		c.Direction = gateway.Outgoing
		c.Trunk = dstPeer
		c.Extension = asteriskCaller(chanPeer, chanTrunk, src)
		c.Dialed = CleanDigits(dst)
	default:
		c.Direction = gateway.Internal
		c.Extension = asteriskCaller(chanPeer, chanTrunk, src)
		c.Dialed = CleanDigits(dst)
		if !AsteriskNumber(dst) && dstPeer != "" {
			c.Dialed = dstPeer // dst "s" or a name: the rung endpoint
		}
	}
	return c, nil
}

// asteriskIDs returns the uniqueid and linkedid of a record of 16 to 21
// fields, "" where the record lacks them.
func asteriskIDs(f []string) (uniqueID, linkedID string) {
	switch len(f) {
	case 17:
		if asteriskLooksUniqueID(f[16]) {
			uniqueID = f[16]
		}
	case 18:
		uniqueID = f[16]
	case 19:
		linkedID = f[17]
	case 20:
		if asteriskLooksUniqueID(f[16]) {
			uniqueID = f[16]
		}
		linkedID = f[18]
	case 21:
		uniqueID, linkedID = f[16], f[19]
	}
	return strings.TrimSpace(uniqueID), strings.TrimSpace(linkedID)
}

// asteriskLooksUniqueID reports whether s has the form of an Asterisk
// uniqueid: epoch seconds, a dot, a sequence number, optionally after
// "systemname-".
func asteriskLooksUniqueID(s string) bool {
	s = strings.TrimSpace(s)
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return false
	}
	secs := s[:dot]
	if i := strings.LastIndexByte(secs, '-'); i >= 0 {
		secs = secs[i+1:]
	}
	return gateway.IsDigits(s[dot+1:]) && gateway.IsDigits(secs) && len(secs) >= 9
}

// asteriskStamp parses "YYYY-MM-DD HH:MM:SS" (a fraction of a second after it
// is ignored), years 1900 to 2999.
func asteriskStamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 19 && s[19] == '.' {
		if gateway.IsDigits(s[20:]) {
			s = s[:19]
		}
	}
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, y, ok := stamp19(s)
	if !ok || y < 1900 || y > 2999 {
		return time.Time{}, false
	}
	return t, true
}

// asteriskEndpoint returns the peer of a channel name and whether it is a
// trunk. "PJSIP/415-0000a001" is extension 415; "PJSIP/sip-provider-0000a006"
// trunk sip-provider; "Local/415@from-internal-00000012;1" extension 415;
// "DAHDI/i1/6175550134-1" trunk i1 (an ISDN span); "DAHDI/3-1" line 3, not a
// trunk by itself. Any peer that is not all digits is a trunk; a Local
// channel is never one (and names no extension unless its target is a number).
func asteriskEndpoint(ch string) (peer string, trunk bool) {
	ch = strings.TrimSpace(ch)
	slash := strings.IndexByte(ch, '/')
	if slash < 0 {
		return "", false
	}
	tech, rest := ch[:slash], ch[slash+1:]
	if strings.EqualFold(tech, "Local") {
		if at := strings.IndexByte(rest, '@'); at >= 0 {
			rest = rest[:at]
		} else if semi := strings.IndexByte(rest, ';'); semi >= 0 {
			rest = rest[:semi]
		}
		if !AsteriskNumber(rest) {
			return "", false // Local/s@ivr: no extension
		}
		return rest, false
	}
	// The channel's own suffix: "-0000a001", "-1", "-1b;2".
	if dash := strings.LastIndexByte(rest, '-'); dash >= 0 {
		rest = rest[:dash]
	}
	if s := strings.IndexByte(rest, '/'); s >= 0 {
		rest = rest[:s] // DAHDI/i1/number: the span
	}
	if rest == "" {
		return "", false
	}
	return rest, !gateway.IsDigits(rest)
}

func asteriskIsDAHDI(ch string) bool {
	ch = strings.TrimSpace(ch)
	return len(ch) > 6 && (strings.EqualFold(ch[:6], "DAHDI/") || strings.EqualFold(ch[:4], "Zap/"))
}

// asteriskDialTrunk returns the trunk named by Dial's first target when no
// channel was created: "PJSIP/6175550134@sip-provider,60" gives sip-provider,
// "SIP/sip-provider/6175550134" sip-provider, "IAX2/provider/num" provider.
func asteriskDialTrunk(lastdata string) string {
	d := strings.TrimSpace(lastdata)
	if i := strings.IndexAny(d, ",&|"); i >= 0 {
		d = d[:i]
	}
	slash := strings.IndexByte(d, '/')
	if slash < 0 || strings.EqualFold(d[:slash], "Local") {
		return ""
	}
	rest := d[slash+1:]
	var peer string
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		peer = rest[at+1:]
	} else if s := strings.IndexByte(rest, '/'); s >= 0 {
		peer = rest[:s]
	}
	if peer == "" {
		return ""
	}
	if gateway.IsDigits(peer) {
		return ""
	}
	return peer
}

// asteriskInboundContexts are the dcontext prefixes of calls from the public
// network (FreePBX's from-pstn/from-trunk/from-did-direct/ext-did, the
// sample configs' public, and common hand-written names).
var asteriskInboundContexts = []string{"from-pstn", "from-trunk", "from-did", "ext-did", "from-external", "public", "incoming", "inbound"}

func asteriskInboundContext(ctx string) bool {
	for _, p := range asteriskInboundContexts {
		if len(ctx) >= len(p) && strings.EqualFold(ctx[:len(p)], p) {
			return true
		}
	}
	return false
}

// AsteriskNumber reports whether s is a phone number or extension: digits
// with at most the decorations * # + - and spaces.
func AsteriskNumber(s string) bool {
	s = strings.TrimSpace(s)
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '*' || c == '#' || c == '+' || c == '-' || c == ' ':
		default:
			return false
		}
	}
	return digits > 0
}

// asteriskClidNumber returns the number of a clid "Name" <number>, or the
// clid itself when it has no angle brackets.
func asteriskClidNumber(clid string) string {
	clid = strings.TrimSpace(clid)
	if i := strings.LastIndexByte(clid, '<'); i >= 0 {
		if j := strings.IndexByte(clid[i:], '>'); j > 0 {
			return clid[i+1 : i+j]
		}
	}
	return clid
}

// asteriskCaller is the calling extension: the calling channel's peer when it
// is an extension, else src.
func asteriskCaller(peer string, trunk bool, src string) string {
	if peer != "" && !trunk {
		return peer
	}
	return CleanDigits(src)
}

// cdrTimes are the time columns Asterisk's cdr_csv and FreeSWITCH's
// mod_cdr_csv records share: the start and answer stamps (answer zero when
// empty) and the total and billed seconds.
type cdrTimes struct {
	start, answer     time.Time
	duration, billsec int
}

// readCDRTimes reads the start, answer, duration and billsec columns at idx
// (0-based) of f; names are the columns' names, for messages.
func readCDRTimes(format string, f []string, idx [4]int, names [4]string) (cdrTimes, error) {
	var t cdrTimes
	var ok bool
	if t.start, ok = asteriskStamp(f[idx[0]]); !ok {
		return t, errorf("%s: %s %q (field %d) is not YYYY-MM-DD HH:MM:SS", format, names[0], f[idx[0]], idx[0]+1)
	}
	if a := strings.TrimSpace(f[idx[1]]); a != "" {
		if t.answer, ok = asteriskStamp(a); !ok {
			return t, errorf("%s: %s %q (field %d) is not YYYY-MM-DD HH:MM:SS or empty", format, names[1], f[idx[1]], idx[1]+1)
		}
	}
	for i, target := range []*int{&t.duration, &t.billsec} {
		j := idx[2+i]
		if *target, ok = atoi(strings.TrimSpace(f[j])); !ok {
			return t, errorf("%s: %s %q (field %d) is not a number of seconds", format, names[2+i], f[j], j+1)
		}
	}
	return t, nil
}
