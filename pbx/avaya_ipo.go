package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var avayaIPO = Format{
	Name:        "avaya-ipo",
	Description: "Avaya IP Office SMDR: CSV, 30 fields (35 from R11), one record per call segment, start stamp with year",
	Settings: "IP Office Manager > System > CDR/SMDR: Output SMDR only; IP Address = the gateway's address " +
		"(pbx.transport tcp-listen) or (Listen) (tcp-dial to the IPO); TCP Port = pbx.listen's port; " +
		"Records to Buffer 3000. No serial output exists on IP Office.",
	newParser: func(Options) (recordParser, error) { return &ipoParser{}, nil },
}

// ipoParser reads IP Office SMDR (docs/pbx-formats.md, "Avaya IP Office").
// Fields, 1-based: 1 call start "YYYY/MM/DD HH:MM:SS" (includes ring), 2
// connected "HH:MM:SS", 3 ring seconds, 4 caller, 5 direction I/O, 6 called
// number, 7 dialled number (the DDI for inbound calls), 8 account code, 9 is
// internal 0/1, 10 call id, 11 continuation, 12 party 1 device, 13 party 1
// name, 14 party 2 device, 15 party 2 name, 16 hold s, 17 park s, 18 auth
// valid, 19 auth code, 20-30 charging and targeting, 31-35 (R11+) server
// addresses and record time.
type ipoParser struct {
	csv csvLines
	// open holds the call ids of calls with a segment flagged "more records
	// follow", so that their later segments are marked as continuations too.
	open map[string]bool
}

// ipoMaxOpen bounds the open-call set: a PBX that never closes a call cannot
// grow it without limit.
const ipoMaxOpen = 10000

func (p *ipoParser) parse(line []byte, _ time.Time) (gateway.Call, error) {
	f, ok := p.csv.split(line)
	if f == nil {
		return gateway.Call{}, ErrSkip
	}
	if !ok || len(f) < 19 {
		return gateway.Call{}, errorf("avaya-ipo: %d fields, want 30 or 35", len(f))
	}
	start, ok := ipoStart(f[0])
	if !ok {
		return gateway.Call{}, errorf("avaya-ipo: call start %q is not YYYY/MM/DD HH:MM:SS", f[0])
	}
	connected, ok := hms(strings.TrimSpace(f[1]))
	if !ok {
		return gateway.Call{}, errorf("avaya-ipo: connected time %q is not HH:MM:SS", f[1])
	}
	ring, ok := atoi(strings.TrimSpace(f[2]))
	if !ok {
		return gateway.Call{}, errorf("avaya-ipo: ring time %q is not a number of seconds", f[2])
	}
	dir := strings.TrimSpace(f[4])
	if dir != "I" && dir != "O" {
		return gateway.Call{}, errorf("avaya-ipo: direction %q is not I or O", f[4])
	}
	c := gateway.Call{
		Start:       start,
		DurationS:   connected,
		Answered:    gateway.Bool(connected > 0),
		RingS:       gateway.Int(ring),
		CallID:      strings.TrimSpace(f[9]),
		AccountCode: strings.TrimSpace(f[7]),
	}
	more := strings.TrimSpace(f[10]) == "1"
	c.Continuation = more || p.open[c.CallID]
	switch {
	case c.CallID == "":
	case more:
		if p.open == nil || len(p.open) >= ipoMaxOpen {
			p.open = make(map[string]bool)
		}
		p.open[c.CallID] = true
	default:
		delete(p.open, c.CallID)
	}
	if c.AccountCode == "" {
		if auth := strings.TrimSpace(f[18]); auth != "n/a" {
			c.AccountCode = auth
		}
	}
	// Party devices: E extension, T trunk line, V voicemail/conference. A
	// party name holding a comma shifts party 2 right, so search for it.
	p1 := strings.TrimSpace(f[11])
	var p2 string
	for i := 13; i < len(f) && i < 16; i++ {
		if d := strings.TrimSpace(f[i]); IPODevice(d) {
			p2 = d
			break
		}
	}
	for _, d := range []string{p1, p2} {
		if c.Trunk == "" && len(d) > 1 && d[0] == 'T' {
			c.Trunk = d[1:]
		}
	}
	caller, called, dialled := strings.TrimSpace(f[3]), CleanDigits(f[5]), CleanDigits(f[6])
	// "Is Internal" is 1 for station-to-station calls (Avaya's own examples
	// sometimes print I there: treat anything but 0 and blank as internal).
	internal := strings.TrimSpace(f[8])
	switch {
	case internal != "0" && internal != "":
		c.Direction = gateway.Internal
		c.Extension = ipoExtension(p1, caller)
		c.Dialed = called
	case dir == "I":
		c.Direction = gateway.Incoming
		c.CallerID = CleanDigits(caller)
		c.Dialed = dialled
		// The answering (for a transfer, this segment's) extension.
		c.Extension = ipoExtension(p1, "")
		if c.Extension == "" && connected > 0 {
			c.Extension = called
		}
	default:
		c.Direction = gateway.Outgoing
		c.Extension = ipoExtension(p1, caller)
		c.Dialed = called
		if c.Dialed == "" {
			c.Dialed = dialled
		}
	}
	return c, nil
}

// ipoStart parses "YYYY/MM/DD HH:MM:SS".
func ipoStart(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 19 || s[4] != '/' || s[7] != '/' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, _, ok := stamp19(s)
	return t, ok
}

// IPODevice reports whether s looks like a party device: a type letter and a
// number.
func IPODevice(s string) bool {
	if len(s) < 2 || !strings.ContainsRune("ETVU", rune(s[0])) {
		return false
	}
	_, ok := atoi(s[1:])
	return ok
}

// ipoExtension returns the extension of an E device, else fallback.
func ipoExtension(device, fallback string) string {
	if len(device) > 1 && device[0] == 'E' {
		return device[1:]
	}
	return fallback
}
