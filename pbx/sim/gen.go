package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// DialPlan is how the hotel's callers dial outside numbers, for the numbers a
// simulated hotel dials and receives. The number lists are patterns in which
// each '#' stands for a random digit.
type DialPlan struct {
	Access        string // outside-line access code dialed first: "9"
	International string // international prefix: "011" (NANP), "00"
	National      string // national (trunk) prefix: "1" (NANP), "0"
	Country       string // the hotel's country code: "1", "44"
	Area          string // the hotel's area code: "212", "20"
	// Local are local numbers, dialed without area code (their length is
	// the tariff's local_number_length).
	Local []string
	// Domestic are national significant numbers elsewhere in the country,
	// dialed after the national prefix.
	Domestic []string
	// TollFree are national significant numbers of free services, dialed
	// after the national prefix.
	TollFree []string
	// Foreign are international numbers: country code and number, dialed
	// after the international prefix.
	Foreign []string
	// Emergency are the emergency numbers, dialed without the access code.
	Emergency []string
	// Hotel is the hotel's own national significant number: the number
	// outside callers dial (the DID its trunks deliver).
	Hotel string
}

// NANP returns the dial plan of a hotel in Manhattan: 9 for an outside line,
// 7-digit local numbers, 1 + 10 digits national, 011 international. Numbers
// are in the ranges kept for fiction where there are such (555-01xx, Ofcom's
// drama ranges).
func NANP() DialPlan {
	return DialPlan{
		Access: "9", International: "011", National: "1", Country: "1", Area: "212",
		Local:     []string{"55501##", "55501##", "55501##", "55502##"},
		Domestic:  []string{"61755501##", "31255501##", "41555501##", "30555501##", "70255501##", "20255501##", "64655501##", "21255501##"},
		TollFree:  []string{"80055501##", "88855501##", "87755501##"},
		Foreign:   []string{"442079460###", "447700900###", "3319900####", "493012345###", "525512345###", "81312345###"},
		Emergency: []string{"911"},
		Hotel:     "2125550100",
	}
}

// UK returns the dial plan of a hotel in London: 9 for an outside line,
// 8-digit London numbers, 0 + the national number, 00 international.
func UK() DialPlan {
	return DialPlan{
		Access: "9", International: "00", National: "0", Country: "44", Area: "20",
		Local:     []string{"7946####"},
		Domestic:  []string{"121496####", "161496####", "1134960###", "7700900###", "2079460###"},
		TollFree:  []string{"8081570###"},
		Foreign:   []string{"12125550###", "3319900####", "35312345###", "34912345###", "4930123456#", "61212345###"},
		Emergency: []string{"999", "112"},
		Hotel:     "2079460100",
	}
}

// check reports what makes the plan unusable.
func (p DialPlan) check() error {
	digits := func(what, s string, empty bool) error {
		if s == "" && !empty {
			return fmt.Errorf("dial plan: the %s is empty", what)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return fmt.Errorf("dial plan: the %s %q is not all digits", what, s)
			}
		}
		return nil
	}
	for _, f := range []struct {
		what, v string
		empty   bool
	}{
		{"access code", p.Access, true}, {"international prefix", p.International, false}, {"national prefix", p.National, true},
		{"country code", p.Country, false}, {"area code", p.Area, true}, {"hotel number", p.Hotel, false},
	} {
		if err := digits(f.what, f.v, f.empty); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		what string
		v    []string
	}{{"local numbers", p.Local}, {"domestic numbers", p.Domestic}, {"toll-free numbers", p.TollFree}, {"foreign numbers", p.Foreign}, {"emergency numbers", p.Emergency}} {
		if len(l.v) == 0 {
			return fmt.Errorf("dial plan: no %s", l.what)
		}
		for _, pat := range l.v {
			if err := digits(l.what, strings.ReplaceAll(pat, "#", "0"), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// callerID is how a domestic caller's number arrives: 10 digits in NANP, with
// the national prefix elsewhere (01214960123).
func (p DialPlan) callerID(nsn string) string {
	if p.Country == "1" {
		return nsn
	}
	return p.National + nsn
}

// Hotel is the simulated property.
type Hotel struct {
	Rooms     []string // guest room extensions: calls from them are charged to the room
	Admin     []string // offices and staff: their outside calls carry account codes, never a room
	FrontDesk string   // answers the hotel's number and transfers callers to rooms
	Trunks    int      // outside lines
}

// ParseExtensions reads a list of extensions and ranges, "101-160" or
// "101-130,201-230,300": the format of --rooms.
func ParseExtensions(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		a, ok1 := extNumber(from)
		b, ok2 := a, true
		if isRange {
			b, ok2 = extNumber(to)
		}
		if !ok1 || !ok2 || len(from) > 7 || (isRange && len(to) != len(from)) {
			return nil, fmt.Errorf("%q is not an extension or a range of extensions like 101-160", part)
		}
		if b < a {
			return nil, fmt.Errorf("the range %q runs backwards", part)
		}
		if b-a >= 10000 {
			return nil, fmt.Errorf("the range %q holds more than 10000 extensions", part)
		}
		for n := a; n <= b; n++ {
			e := fmt.Sprintf("%0*d", len(from), n)
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no extensions given")
	}
	return out, nil
}

// extNumber reads an extension of up to 9 digits as a number; ok is false
// for an empty string, a sign or any other character.
func extNumber(s string) (n int, ok bool) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// GeneratorOptions configures a Generator.
type GeneratorOptions struct {
	Hotel Hotel
	Plan  DialPlan
	Seed  uint64
	// Start is when the generator's timeline begins: the first call of Next
	// ends a little after it.
	Start time.Time
	// CallsPerHour spaces the calls of Next (on average; the gaps are
	// random); 0 means 30, a busy hour for 60 rooms.
	CallsPerHour float64
	// FirstID is the ID of the first call; 0 means 1.
	FirstID uint64
}

// Generator makes the calls of a simulated hotel: guests calling out (local,
// national, international, toll-free, now and then an emergency number) and
// to each other and the front desk, outside callers reaching the front desk
// (which transfers some to rooms) or a room directly, unanswered attempts,
// staff calls with account codes. Talk times follow a log-normal law (most
// calls a minute or two, a few over an hour); every call is a pure function of
// the seed and its place in the sequence. A Generator is not safe for
// concurrent use.
type Generator struct {
	o    GeneratorOptions
	rng  *rand.Rand
	next time.Time // end of the last call of Next
	id   uint64
}

// DefaultHotel is the 60-room hotel of `gateway demo`: rooms 101-160, offices
// 201-212 (the front desk is 200), 8 outside lines.
func DefaultHotel() Hotel {
	rooms, _ := ParseExtensions("101-160")
	admin, _ := ParseExtensions("201-212")
	return Hotel{Rooms: rooms, Admin: admin, FrontDesk: "200", Trunks: 8}
}

// NewGenerator checks the options and returns a generator.
func NewGenerator(o GeneratorOptions) (*Generator, error) {
	if len(o.Hotel.Rooms) < 2 {
		return nil, gateway.Errorf(gateway.KindInvalid, "the simulated hotel needs at least 2 rooms")
	}
	if len(o.Hotel.Admin) == 0 || o.Hotel.FrontDesk == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "the simulated hotel needs admin extensions and a front desk")
	}
	if o.Hotel.Trunks < 1 || o.Hotel.Trunks > 99 {
		return nil, gateway.Errorf(gateway.KindInvalid, "the simulated hotel needs 1 to 99 outside lines, not %d", o.Hotel.Trunks)
	}
	if o.Plan.Country == "" {
		o.Plan = NANP()
	}
	if err := o.Plan.check(); err != nil {
		return nil, gateway.Wrap(gateway.KindInvalid, err, "simulator")
	}
	if o.CallsPerHour < 0 || math.IsNaN(o.CallsPerHour) || math.IsInf(o.CallsPerHour, 0) {
		return nil, gateway.Errorf(gateway.KindInvalid, "calls per hour must be a positive number")
	}
	if o.CallsPerHour == 0 {
		o.CallsPerHour = 30
	}
	if o.Start.IsZero() {
		return nil, gateway.Errorf(gateway.KindInvalid, "the simulator's timeline needs a start time")
	}
	if o.FirstID == 0 {
		o.FirstID = 1
	}
	return &Generator{
		o:    o,
		rng:  rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		next: o.Start,
		id:   o.FirstID,
	}, nil
}

// Next returns the next call of the generator's own timeline: calls end in
// order, a random gap (CallsPerHour on average) after the one before.
func (g *Generator) Next() SimCall {
	gap := g.rng.ExpFloat64() * 3600 / g.o.CallsPerHour
	g.next = g.next.Add(time.Duration(math.Max(1, math.Round(gap))) * time.Second)
	return g.EndingAt(g.next)
}

// EndingAt returns the next call, made to end at end: for a simulator that
// prints each call the moment it happens.
func (g *Generator) EndingAt(end time.Time) SimCall {
	c := g.draw()
	c.Start = end.Add(-time.Duration(c.RingS+c.TalkS) * time.Second)
	if end.After(g.next) {
		g.next = end
	}
	return c
}

// The call mix, in percent of all calls.
const (
	mixGuestOut     = 44
	mixStaffOut     = 12
	mixRoomToRoom   = 8
	mixToDesk       = 7
	mixStaffToStaff = 3
	mixInToDesk     = 16
	// the rest: outside callers reaching a room directly
)

func (g *Generator) draw() SimCall {
	h := &g.o.Hotel
	c := SimCall{ID: g.id}
	g.id++
	n := g.rng.IntN(100)
	switch {
	case n < mixGuestOut:
		g.outgoing(&c, g.pick(h.Rooms), false)
	case n < mixGuestOut+mixStaffOut:
		g.outgoing(&c, g.pick(h.Admin), true)
	case n < mixGuestOut+mixStaffOut+mixRoomToRoom:
		from := g.pick(h.Rooms)
		to := g.pick(h.Rooms)
		for to == from {
			to = g.pick(h.Rooms)
		}
		g.internal(&c, from, to)
	case n < mixGuestOut+mixStaffOut+mixRoomToRoom+mixToDesk:
		g.internal(&c, g.pick(h.Rooms), h.FrontDesk)
	case n < mixGuestOut+mixStaffOut+mixRoomToRoom+mixToDesk+mixStaffToStaff:
		from := g.pick(h.Admin)
		g.internal(&c, from, g.pick(append([]string{h.FrontDesk}, h.Admin...)))
		if c.Dialed == from {
			c.Dialed = h.FrontDesk
		}
	case n < mixGuestOut+mixStaffOut+mixRoomToRoom+mixToDesk+mixStaffToStaff+mixInToDesk:
		g.incoming(&c, h.FrontDesk)
		if c.Answered && g.rng.IntN(100) < 35 {
			c.TransferTo = g.pick(h.Rooms)
			c.TransferAfterS = 5 + g.rng.IntN(40)
			c.TalkS += c.TransferAfterS
		}
	default:
		g.incoming(&c, g.pick(h.Rooms))
	}
	if c.TalkS == 9999 {
		c.TalkS = 9998 // Avaya CM prints 9999 for "clock changed during the call"
	}
	return c
}

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// digits fills a number pattern's '#'s.
func (g *Generator) digits(pattern string) string {
	b := []byte(pattern)
	for i, ch := range b {
		if ch == '#' {
			b[i] = byte('0' + g.rng.IntN(10))
		}
	}
	return string(b)
}

// talk draws a talk time: log-normal around median seconds, at least 3 s,
// at most 4 hours, with one call in a hundred between one and three hours.
func (g *Generator) talk(median float64) int {
	if g.rng.IntN(100) == 0 {
		return 3600 + g.rng.IntN(7200)
	}
	s := median * math.Exp(g.rng.NormFloat64()*0.9)
	return int(math.Max(3, math.Min(4*3600, math.Round(s))))
}

func (g *Generator) outgoing(c *SimCall, ext string, staff bool) {
	p := &g.o.Plan
	c.Direction = gateway.Outgoing
	c.Extension = ext
	c.Trunk = 1 + g.rng.IntN(g.o.Hotel.Trunks)
	c.Access = p.Access
	median := 90.0
	switch n := g.rng.IntN(1000); {
	case n < 3:
		c.Dialed, c.Access = g.pick(p.Emergency), ""
		median = 120
	case n < 360:
		c.Dialed = p.Access + g.digits(g.pick(p.Local))
	case n < 680:
		c.Dialed = p.Access + p.National + g.digits(g.pick(p.Domestic))
		median = 150
	case n < 800:
		c.Dialed = p.Access + p.National + g.digits(g.pick(p.TollFree))
		median = 240
	default:
		c.Dialed = p.Access + p.International + g.digits(g.pick(p.Foreign))
		median = 300
	}
	c.RingS = 4 + g.rng.IntN(20)
	if c.Access != "" && g.rng.IntN(100) < 14 {
		// Nobody answered, or busy: the caller hung up after the ringing.
		c.RingS = 8 + g.rng.IntN(35)
	} else {
		c.Answered = true
		c.TalkS = g.talk(median)
	}
	if staff && g.rng.IntN(100) < 60 {
		c.AccountCode = strconv.Itoa(1000 + g.rng.IntN(40)*25)
	}
}

func (g *Generator) internal(c *SimCall, from, to string) {
	c.Direction = gateway.Internal
	c.Extension = from
	c.Dialed = to
	c.RingS = 2 + g.rng.IntN(12)
	if g.rng.IntN(100) < 20 {
		c.RingS = 10 + g.rng.IntN(25)
	} else {
		c.Answered = true
		c.TalkS = g.talk(60)
	}
}

func (g *Generator) incoming(c *SimCall, ext string) {
	p := &g.o.Plan
	c.Direction = gateway.Incoming
	c.Extension = ext
	c.Dialed = p.Hotel
	c.Trunk = 1 + g.rng.IntN(g.o.Hotel.Trunks)
	if g.rng.IntN(100) >= 18 {
		if g.rng.IntN(4) == 0 {
			c.CallerID = p.callerID(p.Area + g.digits(g.pick(p.Local)))
		} else {
			c.CallerID = p.callerID(g.digits(g.pick(p.Domestic)))
		}
	}
	c.RingS = 3 + g.rng.IntN(15)
	if g.rng.IntN(100) < 15 {
		c.RingS = 15 + g.rng.IntN(40)
	} else {
		c.Answered = true
		c.TalkS = g.talk(120)
	}
}
