package tariff

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"time"

	"callgate/gateway"
)

const timeLayout = gateway.WallClockLayout

// Rounding is how a division is rounded to a whole minor unit.
type Rounding int

// The rounding modes of docs/tariff.md.
const (
	RoundUp     Rounding = iota // toward +infinity
	RoundHalfUp                 // to the nearest, halves up
	RoundDown                   // toward zero
)

var roundings = map[string]Rounding{"up": RoundUp, "half_up": RoundHalfUp, "down": RoundDown}

func (r Rounding) String() string {
	switch r {
	case RoundHalfUp:
		return "half_up"
	case RoundDown:
		return "down"
	}
	return "up"
}

// MaxDuration is the longest call the rater prices: ten years of seconds is
// no call, and a bound keeps every product far from integer overflow.
const MaxDuration = 100_000_000

// Tariff is a loaded tariff file. It is never changed after loading, so one
// *Tariff may rate calls from many goroutines; a reload builds a new one.
type Tariff struct {
	Currency string
	Rounding Rounding

	dialing     dialing
	bands       []band
	edges       []int // seconds of the day at which some band starts or ends, sorted, without 0
	holidays    map[int]bool
	holidayBand int // index into bands, -1 for none
	split       bool
	free        []freeNumber
	freeTrie    *trie
	editions    []edition // [0] is the top-level list ("base"); the rest by effective_from
	guest       guestRules
	classes     map[string]guestRules // per-class guest rules, already merged over guest
}

type dialing struct {
	strip                 []string
	intl, national        string
	country, area         string
	nationalLen, localLen int
}

type band struct {
	name     string
	days     uint8 // bit per time.Weekday; 0 = every day
	from, to int   // minutes of the day, -1 = no window
}

type freeNumber struct {
	prefix, class string
}

type edition struct {
	name  string    // "base" or the effective_from time
	from  time.Time // wall clock
	dests []destination
	trie  *trie
}

type destination struct {
	prefix, name, class string
	rates               []int64 // minor units per minute, by band index
	first, next         int     // increments in seconds
	setup, minimum      int64
}

type guestRules struct {
	markup, tax int64 // parts per 100,000
	surcharge   int64
	grace       int
}

func ymd(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func (t *Tariff) bandIndex(name string) int {
	for i, b := range t.bands {
		if b.name == name {
			return i
		}
	}
	return -1
}

func (t *Tariff) bandNames() []string {
	names := make([]string, len(t.bands))
	for i, b := range t.bands {
		names[i] = b.name
	}
	return names
}

// bandOn returns the first band that matches weekday d at sod seconds after
// midnight, or -1.
func (t *Tariff) bandOn(d time.Weekday, sod int) int {
	for i, b := range t.bands {
		if b.days != 0 && b.days&(1<<d) == 0 {
			continue
		}
		if b.from >= 0 {
			from, to := b.from*60, b.to*60
			in := sod >= from && sod < to
			if from > to {
				in = sod >= from || sod < to
			}
			if !in {
				continue
			}
		}
		return i
	}
	return -1
}

// bandAt returns the band in force at wall-clock time w.
func (t *Tariff) bandAt(w time.Time) int {
	if t.holidayBand >= 0 && t.holidays[ymd(w)] {
		return t.holidayBand
	}
	h, m, s := w.Clock()
	return t.bandOn(w.Weekday(), h*3600+m*60+s)
}

// nextEdge returns the seconds from w to the next moment the band may change:
// a band's from or to, or midnight.
func (t *Tariff) nextEdge(w time.Time) int {
	h, m, s := w.Clock()
	sod := h*3600 + m*60 + s
	i := sort.SearchInts(t.edges, sod+1)
	if i < len(t.edges) {
		return t.edges[i] - sod
	}
	return 86400 - sod
}

// edition returns the destination list in force at wall-clock time w.
func (t *Tariff) edition(w time.Time) *edition {
	for i := len(t.editions) - 1; i > 0; i-- {
		if !t.editions[i].from.After(w) {
			return &t.editions[i]
		}
	}
	return &t.editions[0]
}

func (t *Tariff) rules(class string) guestRules {
	if r, ok := t.classes[class]; ok {
		return r
	}
	return t.guest
}

// mulDiv returns a*b/c rounded by r, for a, b ≥ 0 and c > 0, in 128-bit
// arithmetic so no product overflows. ok is false if the result does not fit.
func mulDiv(a, b, c int64, r Rounding) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, uint64(c))
	switch r {
	case RoundUp:
		if rem > 0 {
			q++
		}
	case RoundHalfUp:
		if rem >= uint64(c)-rem { // rem*2 >= c without overflow
			q++
		}
	}
	if q > 1<<62 {
		return 0, false
	}
	return int64(q), true
}

// The exceptions of docs/tariff.md, as values a Charge can point to.
var (
	excInvalid    = gateway.ExceptionInvalidNumber
	excUnroutable = gateway.ExceptionUnroutableNumber
	excUnknown    = gateway.ExceptionUnknownDestination
)

// Rate prices one call by the steps of docs/tariff.md "How a call is priced". The error is for a call
// the rules cannot price at all (a duration beyond MaxDuration); every other
// outcome, exceptions included, is a Charge.
func (t *Tariff) Rate(c gateway.Call) (gateway.Charge, error) {
	ed := t.edition(c.Start)
	ch := gateway.Charge{Currency: t.Currency, TariffVersion: ed.name}
	// 1. Not outgoing.
	switch c.Direction {
	case gateway.Incoming:
		ch.Class = "incoming"
		return ch, nil
	case gateway.Internal:
		ch.Class = "internal"
		return ch, nil
	case gateway.Outgoing:
	default:
		return ch, gateway.Errorf(gateway.KindInvalid, "call direction %q is not out, in or internal", c.Direction)
	}
	if c.DurationS < 0 || c.DurationS > MaxDuration {
		return ch, gateway.Errorf(gateway.KindInvalid, "call duration %d s is outside 0 to %d", c.DurationS, MaxDuration)
	}
	ch.Band = t.bands[max(t.bandAt(c.Start), 0)].name
	// 2. Unanswered (and a call with no connected second, which no guest
	// would accept a charge for, whatever the PBX said).
	unanswered := (c.Answered != nil && !*c.Answered) || c.DurationS == 0

	// 3. Digits.
	var buf [64]byte
	dialed := keepDigits(c.Dialed, buf[:0])
	digits := dialed
	for _, s := range t.dialing.strip {
		if strings.HasPrefix(digits, s) {
			digits = digits[len(s):]
			break
		}
	}
	if digits == "" {
		return exception(ch, "invalid", &excInvalid, unanswered)
	}
	// 4. Free numbers: as dialed first, then after the strip.
	fi, _ := t.freeTrie.longest(dialed)
	if fi < 0 {
		fi, _ = t.freeTrie.longest(digits)
	}
	e164, routable := t.e164(digits)
	if routable {
		ch.E164 = e164
	}
	if fi >= 0 {
		f := t.free[fi]
		ch.Class, ch.Prefix = f.class, f.prefix
		r := t.rules(f.class)
		if unanswered || c.DurationS < r.grace {
			return ch, nil
		}
		ch.Chargeable = true
		ch.BillableS = c.DurationS
		return t.guestCharge(ch, r)
	}
	// 5. E.164.
	if !routable {
		return exception(ch, "unknown", &excUnroutable, unanswered)
	}
	// 6. Destination.
	di, _ := ed.trie.longest(e164)
	if di < 0 {
		return exception(ch, "unknown", &excUnknown, unanswered)
	}
	d := &ed.dests[di]
	ch.Class, ch.Destination, ch.Prefix = d.class, d.name, d.prefix
	r := t.rules(d.class)
	// 7. Grace.
	if unanswered || c.DurationS < r.grace {
		return ch, nil
	}
	ch.Chargeable = true
	// 8. Billable seconds.
	billable := d.first
	if c.DurationS > d.first {
		billable = d.first + (c.DurationS-d.first+d.next-1)/d.next*d.next
	}
	ch.BillableS = billable
	// 9, 10. Band(s) and carrier cost.
	carrier, ok := t.carrierCost(d, c.Start, billable)
	if !ok {
		return ch, overflow()
	}
	carrier += d.setup
	carrier = max(carrier, d.minimum)
	ch.CarrierMinor = carrier
	// 11. Guest charge.
	return t.guestCharge(ch, r)
}

// carrierCost prices billable seconds from start at the destination's rates:
// the band at start for the whole call or, with splitting, each part in its
// own band, each part rounded on its own. ok is false on overflow.
func (t *Tariff) carrierCost(d *destination, start time.Time, billable int) (cost int64, ok bool) {
	cur := t.bandAt(start)
	if !t.split {
		return mulDiv(d.rates[cur], int64(billable), 60, t.Rounding)
	}
	ok = true
	w, left, secs := start, billable, 0
	for {
		step := min(t.nextEdge(w), left)
		b := t.bandAt(w)
		if b != cur || left == 0 {
			part, fits := mulDiv(d.rates[cur], int64(secs), 60, t.Rounding)
			cost, ok = cost+part, ok && fits
			cur, secs = b, 0
		}
		if left == 0 {
			return cost, ok
		}
		secs += step
		left -= step
		w = w.Add(time.Duration(step) * time.Second)
	}
}

// exception ends the rating of a number the tariff cannot price: the class,
// and the exception for the night auditor unless the call was never
// answered (then there is nothing to charge and nothing to look at).
func exception(ch gateway.Charge, class string, exc *string, unanswered bool) (gateway.Charge, error) {
	ch.Class = class
	if !unanswered {
		ch.Exception = exc
	}
	return ch, nil
}

func overflow() error {
	return gateway.Errorf(gateway.KindInvalid, "the call's charge is too large to compute")
}

// guestCharge adds markup, surcharge and tax to the carrier cost.
func (t *Tariff) guestCharge(ch gateway.Charge, r guestRules) (gateway.Charge, error) {
	markup, ok1 := mulDiv(ch.CarrierMinor, r.markup, 100_000, t.Rounding)
	ch.MarkupMinor = markup
	ch.SurchargeMinor = r.surcharge
	tax, ok2 := mulDiv(ch.CarrierMinor+markup+r.surcharge, r.tax, 100_000, t.Rounding)
	if !ok1 || !ok2 {
		return ch, overflow()
	}
	ch.TaxMinor = tax
	ch.TotalMinor = ch.CarrierMinor + markup + r.surcharge + tax
	return ch, nil
}

// keepDigits returns the 0-9 characters of s: s itself when it has no other
// character (no copy), else a string built in buf.
func keepDigits(s string, buf []byte) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			buf = append(buf, s[i])
		}
	}
	return string(buf)
}

// e164 turns digits (access code already stripped) into an E.164 number by
// step 5 of docs/tariff.md "How a call is priced".
func (t *Tariff) e164(digits string) (string, bool) {
	d := &t.dialing
	switch {
	case d.intl != "" && strings.HasPrefix(digits, d.intl):
		rest := digits[len(d.intl):]
		return rest, rest != ""
	case d.national != "" && strings.HasPrefix(digits, d.national):
		rest := digits[len(d.national):]
		return d.country + rest, rest != ""
	case d.nationalLen > 0 && len(digits) == d.nationalLen:
		return d.country + digits, true
	case d.localLen > 0 && len(digits) == d.localLen:
		return d.country + d.area + digits, true
	}
	return "", false
}

// Summary describes a loaded tariff for `gateway rate --check`.
func (t *Tariff) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tariff OK: currency %s, rounding %s\n", t.Currency, t.Rounding)
	fmt.Fprintf(&b, "bands: %s", strings.Join(t.bandNames(), ", "))
	if t.split {
		b.WriteString(" (calls split at band changes)")
	}
	b.WriteString("\n")
	if len(t.holidays) > 0 {
		fmt.Fprintf(&b, "holidays: %d, priced as %s\n", len(t.holidays), t.bands[t.holidayBand].name)
	}
	fmt.Fprintf(&b, "free numbers: %d\n", len(t.free))
	for _, ed := range t.editions {
		from := "base"
		if ed.name != "base" {
			from = "from " + ed.name
		}
		fmt.Fprintf(&b, "edition %s: %d destinations\n", from, len(ed.dests))
	}
	return b.String()
}

// Destinations lists the destinations of the edition in force at wall-clock
// time at, in the order the tariff gives them, for the console.
func (t *Tariff) Destinations(at time.Time) []gateway.TariffDestination {
	ed := t.edition(at)
	out := make([]gateway.TariffDestination, 0, len(ed.dests))
	for _, d := range ed.dests {
		td := gateway.TariffDestination{Prefix: d.prefix, Name: d.name, Class: d.class, Edition: ed.name, Currency: t.Currency,
			FirstS: d.first, NextS: d.next, SetupMinor: d.setup, MinimumMinor: d.minimum}
		for i, r := range d.rates {
			if i < len(t.bands) {
				td.Rates = append(td.Rates, gateway.BandRate{Band: t.bands[i].name, PerMinuteMinor: r})
			}
		}
		out = append(out, td)
	}
	return out
}
