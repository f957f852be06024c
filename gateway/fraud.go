package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// The toll-fraud and cost rules (docs/alarms.md "Fraud rules"). One
// definition serves the engine, which checks each call as it is rated, and
// the reports (`gateway report fraud`, the exceptions report), which run the
// same checker over history.

// The fraud rules' names, as alarms and reports give them.
const (
	// Each rule is named by its key under alarms.fraud, so an alarm, a
	// report row and the config say the same word.
	RuleInternationalPerHour = "international_per_hour"
	RuleCostPerHour          = "cost_per_hour"
	RuleNight                = "night"
	RuleLongCall             = "long_call_minutes"
	RuleDestination          = "destinations"
)

// FraudWindow is the sliding window of the per-hour rules, and how long a
// rule must stay quiet for an extension before its episode (and its alarm)
// ends.
const FraudWindow = time.Hour

// fraudMaxExtensions bounds the extensions the checker follows at once
// (docs/alarms.md "Memory"): past it the least recently active is dropped.
const fraudMaxExtensions = 10000

// fraudCallsKept is how many of an episode's or a window's calls a hit
// names.
const fraudCallsKept = 8

// FraudRules are the alarms.fraud section's rules; a zero field is a rule
// that is off.
type FraudRules struct {
	// InternationalPerHour: more outgoing calls of class international
	// (answered or not: attempts count) than this from one extension
	// within an hour.
	InternationalPerHour int
	// CostPerHour: the guest charge of one extension's calls within an
	// hour above this many minor units of the tariff's currency.
	CostPerHour int64
	// Night is the local time span (minutes after midnight, From up to To,
	// across midnight when From > To) in which an international or premium
	// call from an extension that is not a room alarms. Off when equal.
	NightFrom, NightTo int
	// PremiumClasses are the tariff classes counted as premium.
	PremiumClasses []string
	// LongCallMinutes: an outgoing call connected longer than this.
	LongCallMinutes int
	// Destinations are E.164 prefixes (country code first, digits only)
	// that alarm on every outgoing call to them.
	Destinations []string
}

// On reports whether any rule is set.
func (r FraudRules) On() bool {
	return r.InternationalPerHour > 0 || r.CostPerHour > 0 || r.NightFrom != r.NightTo ||
		r.LongCallMinutes > 0 || len(r.Destinations) > 0
}

// ParseTimeSpan reads a local time span "00:00-06:00" into minutes after
// midnight; "" is no span (0, 0). The end may be before the start: the
// span runs across midnight ("22:00-06:00").
func ParseTimeSpan(s string) (from, to int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a time span like 00:00-06:00", s)
	}
	if from, err = parseClock(strings.TrimSpace(a)); err == nil {
		to, err = parseClock(strings.TrimSpace(b))
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a time span like 00:00-06:00: %v", s, err)
	}
	if from == to {
		return 0, 0, fmt.Errorf("%q starts where it ends: give a span like 00:00-06:00, or leave it out", s)
	}
	return from, to, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) into minutes after midnight.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !IsDigits(s[:2]) || !IsDigits(s[3:]) {
		return 0, fmt.Errorf("%q is not a time like 06:00", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h*60 + m, nil
}

// FormatTimeSpan writes minutes after midnight back as "00:00-06:00".
func FormatTimeSpan(from, to int) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)
}

// FraudCallRef names one call of a fraud hit, without the whole number.
type FraudCallRef struct {
	Entry       EntryID   `json:"entry,omitempty"`
	Start       time.Time `json:"-"`      // local wall clock (Location UTC, meaning nothing): "start" in JSON, without a zone
	Dialed      string    `json:"dialed"` // masked (MaskNumber)
	Class       string    `json:"class"`
	Destination string    `json:"destination,omitempty"`
	DurationS   int       `json:"duration_s"`
	TotalMinor  int64     `json:"total_minor"`
	Currency    string    `json:"currency"`
}

type fraudCallJSON FraudCallRef

// MarshalJSON writes the call with its start as the site's wall clock,
// 2026-12-06T02:37:09 (WallClockLayout), as a normalized call's start.
func (r FraudCallRef) MarshalJSON() ([]byte, error) {
	return MarshalPlain(struct {
		Start string `json:"start"`
		fraudCallJSON
	}{r.Start.Format(WallClockLayout), fraudCallJSON(r)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *FraudCallRef) UnmarshalJSON(b []byte) error {
	var w struct {
		Start string `json:"start"`
		fraudCallJSON
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = FraudCallRef(w.fraudCallJSON)
	if w.Start != "" {
		t, err := time.Parse(WallClockLayout, w.Start)
		if err != nil {
			return fmt.Errorf("a fraud call's start %q is not a wall-clock time like 2026-12-06T02:37:09", w.Start)
		}
		r.Start = t
	}
	return nil
}

// FraudHit is one rule firing on a call: the rule, whom it names, and the
// calls and cost that make it.
type FraudHit struct {
	Rule      string
	Extension string
	Room      string // the extension's room, "" for one that is not a room
	// New is set on the hit that starts an episode: the rule had not fired
	// for this extension within FraudWindow. Later hits of the same episode
	// update it.
	New bool
	// Count is the calls that make the hit: within the window for the
	// per-hour rules, in the episode for the others.
	Count       int
	AmountMinor int64 // their guest charge
	Currency    string
	Limit       string         // the rule's limit as the config gives it
	Calls       []FraudCallRef // the most recent of them, at most 8
	// First and Last are the local wall-clock starts of the episode's
	// first and latest call.
	First, Last time.Time
}

// Text is the hit in a sentence for a person, naming the extension (and
// room), the rule, the calls and their cost.
func (h FraudHit) Text(amount func(minor int64, currency string) string) string {
	who := "extension " + h.Extension
	if h.Room != "" && h.Room != h.Extension {
		who += " (room " + h.Room + ")"
	} else if h.Room != "" {
		who = "room " + h.Room
	}
	cost := amount(h.AmountMinor, h.Currency)
	switch h.Rule {
	case RuleInternationalPerHour:
		return fmt.Sprintf("%s made %d international calls within an hour (limit %s), %s: possible toll fraud, check the extension", who, h.Count, h.Limit, cost)
	case RuleCostPerHour:
		return fmt.Sprintf("%s ran up %s in calls within an hour (limit %s, %d calls): possible toll fraud, check the extension", who, cost, h.Limit, h.Count)
	case RuleNight:
		return fmt.Sprintf("%s, not a room, made %d international or premium calls during the night hours %s, %s: check who uses it", who, h.Count, h.Limit, cost)
	case RuleLongCall:
		return fmt.Sprintf("%s made %d calls longer than %s minutes, %s: check the extension", who, h.Count, h.Limit, cost)
	case RuleDestination:
		return fmt.Sprintf("%s called a watched destination (%s) %d times, %s: check the extension", who, h.Limit, h.Count, cost)
	}
	return fmt.Sprintf("%s: rule %s fired on %d calls, %s", who, h.Rule, h.Count, cost)
}

// FraudChecker runs the fraud rules over calls, one at a time in about the
// order they ended. Its memory is bounded (docs/alarms.md "Memory"): per
// extension that called within the last hour, 60 one-minute buckets and the
// latest calls of its episodes, and at most 10,000 extensions at once. It is
// safe for concurrent use.
type FraudChecker struct {
	rules FraudRules
	rooms RoomMap

	mu    sync.Mutex
	exts  map[string]*extWindow
	calls int // calls checked, for the periodic sweep
}

// extWindow is one extension's last hour.
type extWindow struct {
	buckets  [60]fraudBucket
	last     time.Time // the latest call end seen (UTC)
	recent   []FraudCallRef
	episodes map[string]*fraudEpisode
}

type fraudBucket struct {
	minute int64 // Unix minute the bucket holds; older ones are stale
	calls  int32
	intl   int32
	cost   int64
}

// fraudEpisode is a rule firing on and off for one extension: it lasts
// while the rule fires again within FraudWindow.
type fraudEpisode struct {
	lastFired   time.Time // UTC, the end of the latest call that fired
	first, last time.Time // local wall clock
	count       int
	amount      int64
	calls       []FraudCallRef
}

// NewFraudChecker returns a checker of rules; rooms tells rooms from other
// extensions (for the night rule) and names an extension's room.
func NewFraudChecker(rules FraudRules, rooms RoomMap) *FraudChecker {
	slices.Sort(rules.PremiumClasses)
	return &FraudChecker{rules: rules, rooms: rooms, exts: map[string]*extWindow{}}
}

// Rules returns the checker's rules.
func (c *FraudChecker) Rules() FraudRules { return c.rules }

// Check runs the rules on one rated call (entry id, 0 if not journaled)
// and returns the hits, none for a call no rule minds. Only outgoing calls
// with a charge are checked.
func (c *FraudChecker) Check(id EntryID, call *Call, ch *Charge) []FraudHit {
	if c == nil || call == nil || ch == nil || call.Direction != Outgoing || call.Extension == "" {
		return nil
	}
	r := &c.rules
	start := call.StartUTC
	if start.IsZero() {
		start = call.Start
	}
	end := start.Add(time.Duration(call.DurationS) * time.Second)
	intl := ch.Class == "international"
	premium := slices.Contains(r.PremiumClasses, ch.Class)
	// The number is masked when a hit names the call, not for every call.
	ref := FraudCallRef{Entry: id, Start: call.Start, Dialed: call.Dialed, Class: ch.Class,
		Destination: ch.Destination, DurationS: call.DurationS, TotalMinor: ch.TotalMinor, Currency: ch.Currency}

	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.window(call.Extension, end)
	if end.After(w.last) {
		w.last = end
	}
	// The window: one-minute buckets of the last hour, by the call's end.
	min := end.Unix() / 60
	inWindow := w.last.Unix()/60-min < 60
	if inWindow {
		b := &w.buckets[min%60]
		if b.minute != min {
			*b = fraudBucket{minute: min}
		}
		b.calls++
		if intl {
			b.intl++
		}
		b.cost += ch.TotalMinor
		w.recent = appendKept(w.recent, ref)
	}
	var nCalls, nIntl int
	var cost int64
	now := w.last.Unix() / 60
	for i := range w.buckets {
		if b := &w.buckets[i]; b.minute > now-60 && b.minute <= now {
			nCalls += int(b.calls)
			nIntl += int(b.intl)
			cost += b.cost
		}
	}

	room, why := c.rooms.Resolve(call.Extension)
	// Not a room: an admin extension (rooms.not_rooms) and one that maps
	// to no room at all — both are what the night rule watches.
	notRoom := why != RoomOK
	if notRoom {
		room = ""
	}
	var hits []FraudHit
	fire := func(rule, limit string, windowed bool, count int, amount int64) {
		ep := w.episodes[rule]
		h := FraudHit{Rule: rule, Extension: call.Extension, Room: room, Limit: limit, Currency: ch.Currency}
		if ep == nil || end.Sub(ep.lastFired) > FraudWindow {
			ep = &fraudEpisode{first: call.Start}
			if w.episodes == nil {
				w.episodes = map[string]*fraudEpisode{}
			}
			w.episodes[rule] = ep
			h.New = true
		}
		if end.After(ep.lastFired) {
			ep.lastFired = end
		}
		ep.last = call.Start
		ep.count++
		ep.amount += ch.TotalMinor
		ep.calls = appendKept(ep.calls, ref)
		h.First, h.Last = ep.first, ep.last
		if windowed {
			h.Count, h.AmountMinor = count, amount
			h.Calls = maskedCalls(windowCalls(w.recent, call.Start, rule == RuleInternationalPerHour))
		} else {
			h.Count, h.AmountMinor = ep.count, ep.amount
			h.Calls = maskedCalls(ep.calls)
		}
		hits = append(hits, h)
	}
	if r.InternationalPerHour > 0 && intl && inWindow && nIntl > r.InternationalPerHour {
		fire(RuleInternationalPerHour, fmt.Sprint(r.InternationalPerHour), true, nIntl, cost)
	}
	if r.CostPerHour > 0 && inWindow && ch.TotalMinor > 0 && cost > r.CostPerHour {
		fire(RuleCostPerHour, fmt.Sprint(r.CostPerHour), true, nCalls, cost)
	}
	if r.NightFrom != r.NightTo && notRoom && (intl || premium) && inSpan(call.Start, r.NightFrom, r.NightTo) {
		fire(RuleNight, FormatTimeSpan(r.NightFrom, r.NightTo), false, 0, 0)
	}
	if r.LongCallMinutes > 0 && call.DurationS > r.LongCallMinutes*60 {
		fire(RuleLongCall, fmt.Sprint(r.LongCallMinutes), false, 0, 0)
	}
	if len(r.Destinations) > 0 {
		num := ch.E164
		if num == "" {
			num = strings.TrimLeft(call.Dialed, "+")
		}
		for _, p := range r.Destinations {
			if p != "" && strings.HasPrefix(num, p) {
				fire(RuleDestination, "+"+p, false, 0, 0)
				break
			}
		}
	}
	c.calls++
	if c.calls%1024 == 0 || len(c.exts) > fraudMaxExtensions {
		c.sweep(w.last)
	}
	return hits
}

// window returns ext's window, made when new.
func (c *FraudChecker) window(ext string, end time.Time) *extWindow {
	w := c.exts[ext]
	if w == nil {
		w = &extWindow{last: end}
		c.exts[ext] = w
	}
	return w
}

// sweep drops the extensions idle for over an hour before now (their
// windows are empty and their episodes over), then, above the bound, the
// least recently active.
func (c *FraudChecker) sweep(now time.Time) {
	for ext, w := range c.exts {
		if now.Sub(w.last) > FraudWindow {
			delete(c.exts, ext)
		}
	}
	if len(c.exts) <= fraudMaxExtensions {
		return
	}
	// Down to nine tenths of the bound at once, so that the next sweep is
	// a thousand extensions away.
	type seen struct {
		ext  string
		last time.Time
	}
	all := make([]seen, 0, len(c.exts))
	for ext, w := range c.exts {
		all = append(all, seen{ext, w.last})
	}
	slices.SortFunc(all, func(a, b seen) int { return a.last.Compare(b.last) })
	for _, s := range all[:len(all)-fraudMaxExtensions*9/10] {
		delete(c.exts, s.ext)
	}
}

// Extensions returns how many extensions the checker follows (for tests of
// its bound).
func (c *FraudChecker) Extensions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.exts)
}

// maskedCalls copies calls with their numbers masked.
func maskedCalls(calls []FraudCallRef) []FraudCallRef {
	out := slices.Clone(calls)
	for i := range out {
		out[i].Dialed = MaskNumber(out[i].Dialed)
	}
	return out
}

// windowCalls is the calls of recent that the hour before now holds (the
// calls an hourly rule counted), only the international ones for the
// international rule.
func windowCalls(recent []FraudCallRef, now time.Time, intlOnly bool) []FraudCallRef {
	var out []FraudCallRef
	for _, r := range recent {
		if now.Sub(r.Start) < FraudWindow && (!intlOnly || r.Class == "international") {
			out = append(out, r)
		}
	}
	return out
}

func appendKept(s []FraudCallRef, r FraudCallRef) []FraudCallRef {
	if len(s) == fraudCallsKept {
		copy(s, s[1:])
		s = s[:len(s)-1]
	}
	return append(s, r)
}

// inSpan reports whether the wall-clock time t is in [from, to) minutes
// after midnight, across midnight when from > to.
func inSpan(t time.Time, from, to int) bool {
	m := t.Hour()*60 + t.Minute()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to
}
