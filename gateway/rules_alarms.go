package gateway

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// The engine's fraud and room-credit alarms (docs/alarms.md). Fraud rules
// are checked in memory as each call is journaled, after its commit and off
// the journal: no commit of their own. Room credit is checked by the watch
// loop, every 10 seconds, for the rooms that had a posting queued.

// AlarmDetail is what an alarm names besides its sentence: the JSON details
// of an alarm message (docs/alarms.md "The message").
type AlarmDetail struct {
	Extension   string         `json:"extension,omitempty"`
	Room        string         `json:"room,omitempty"`
	Rule        string         `json:"rule,omitempty"`
	Limit       string         `json:"limit,omitempty"`
	Count       int            `json:"count,omitempty"`
	AmountMinor int64          `json:"amount_minor,omitempty"`
	Amount      string         `json:"amount,omitempty"` // AmountMinor in the currency's major unit, "12.50"
	Currency    string         `json:"currency,omitempty"`
	Calls       []FraudCallRef `json:"calls,omitempty"`
	Reservation string         `json:"reservation,omitempty"`
	Target      string         `json:"target,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// CreditLimits are the rooms' credit limits per stay, in minor units of
// the tariff's currency (docs/alarms.md "Room credit"); 0 is no limit.
type CreditLimits struct {
	Default int64
	Rooms   map[string]int64 // by room, over everything else
	VIP     map[string]int64 // by the guest's VIP code as the PMS sends it (FIAS GV)
}

// On reports whether any limit is set.
func (c CreditLimits) On() bool { return c.Default > 0 || len(c.Rooms) > 0 || len(c.VIP) > 0 }

// Limit returns the limit of room for guest g (nil: no guest known), and
// where it comes from.
func (c CreditLimits) Limit(room string, g *Guest) (int64, string) {
	if l, ok := c.Rooms[room]; ok {
		return l, "room " + room
	}
	if g != nil && g.VIP != "" {
		if l, ok := c.VIP[g.VIP]; ok {
			return l, "VIP " + g.VIP
		}
	}
	return c.Default, "default"
}

// ruleState is the engine's state of the fraud and credit rules.
type ruleState struct {
	fraud *FraudChecker // nil without rules

	mu sync.Mutex
	// fired is when each standing fraud alarm last fired (engine clock):
	// the alarm clears FraudWindow after.
	fired map[string]time.Time
	// dirty are the rooms to check for credit: a posting was queued.
	dirty map[string]bool
	// credit are the rooms whose room-credit alarm stands, with the
	// reservation it is about.
	credit map[string]string
}

func (r *ruleState) init(e *Engine) {
	if e.Fraud.On() {
		r.fraud = NewFraudChecker(e.Fraud, e.Rooms)
	}
	r.fired = map[string]time.Time{}
	r.dirty = map[string]bool{}
	r.credit = map[string]string{}
}

// checkCall runs the rules on a call just journaled: the fraud rules at
// once (in memory, bounded), the room's credit on the next watch tick.
func (e *Engine) checkCall(id EntryID, moves []Change) {
	var call *Call
	var ch *Charge
	queued := ""
	for _, m := range moves {
		if m.Call != nil {
			call = m.Call
		}
		if m.Charge != nil {
			ch = m.Charge
		}
		if m.To == StateQueued {
			queued = m.Room
		}
	}
	e.checkRated(id, call, ch, queued)
}

// checkRated runs the rules on a rated call; queued is the room its
// posting was queued for ("" if none).
func (e *Engine) checkRated(id EntryID, call *Call, ch *Charge, queued string) {
	if queued != "" && e.Credit.On() {
		e.rules.mu.Lock()
		e.rules.dirty[queued] = true
		e.rules.mu.Unlock()
	}
	if e.rules.fraud == nil {
		return
	}
	for _, h := range e.rules.fraud.Check(id, call, ch) {
		a := Alarm{Kind: AlarmFraud, Subject: h.Extension + "/" + h.Rule, Text: h.Text(e.amount), Detail: &AlarmDetail{
			Extension: h.Extension, Room: h.Room, Rule: h.Rule, Limit: h.Limit, Count: h.Count,
			AmountMinor: h.AmountMinor, Amount: e.major(h.AmountMinor, h.Currency), Currency: h.Currency, Calls: h.Calls}}
		e.rules.mu.Lock()
		e.rules.fired[a.Subject] = e.now()
		e.rules.mu.Unlock()
		e.SetAlarm(a, true)
	}
}

// major writes minor units in the currency's major unit, "" when its
// decimals are unknown.
func (e *Engine) major(minor int64, currency string) string {
	if e.MinorDigits != nil {
		if d, ok := e.MinorDigits(currency); ok {
			return FormatMinor(minor, d)
		}
	}
	return ""
}

// warmRules feeds the fraud rules the calls of the last FraudWindow from the
// journal, so that a pattern that spans a restart is still seen (a rule
// that still fires raises its alarm again), and marks the rooms in house
// for a credit check.
func (e *Engine) warmRules(ctx context.Context) {
	if e.rules.fraud != nil {
		err := e.Queries.EachPage(ctx, Filter{From: e.now().Add(-FraudWindow), Limit: 1000}, func(es []Entry) error {
			for i := range es {
				if es[i].Call != nil && es[i].Charge != nil {
					e.checkRated(es[i].ID, es[i].Call, es[i].Charge, "")
				}
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			e.Logger.Warn().Err(err).Msg("reading the last hour's calls for the fraud rules")
		}
	}
	if e.Credit.On() {
		gs, err := e.Queries.Guests(ctx, "")
		if err != nil {
			return
		}
		e.rules.mu.Lock()
		for _, g := range gs {
			e.rules.dirty[g.Room] = true
		}
		e.rules.mu.Unlock()
	}
}

// tickRules clears the fraud alarms that have not fired for FraudWindow and
// checks the credit of the rooms that had postings, and of those whose
// alarm stands (a new stay clears it). The watch loop calls it.
func (e *Engine) tickRules(ctx context.Context) {
	now := e.now()
	var quiet []string
	e.rules.mu.Lock()
	for subj, at := range e.rules.fired {
		if now.Sub(at) >= FraudWindow {
			quiet = append(quiet, subj)
			delete(e.rules.fired, subj)
		}
	}
	var rooms []string
	for room := range e.rules.dirty {
		rooms = append(rooms, room)
	}
	for room := range e.rules.credit {
		if !e.rules.dirty[room] {
			rooms = append(rooms, room)
		}
	}
	clear(e.rules.dirty)
	e.rules.mu.Unlock()
	sort.Strings(quiet)
	for _, subj := range quiet {
		e.SetAlarm(Alarm{Kind: AlarmFraud, Subject: subj}, false)
	}
	sort.Strings(rooms)
	for _, room := range rooms {
		if err := e.checkCredit(ctx, room); err != nil {
			if ctx.Err() == nil {
				e.Logger.Warn().Err(err).Str("room", room).Msg("checking a room's credit")
			}
			e.rules.mu.Lock()
			e.rules.dirty[room] = true // again at the next tick
			e.rules.mu.Unlock()
		}
	}
}

// checkCredit adds up room's posted calls in the current stay (the
// entries of the current reservation since its arrival; since 30 days when
// the PMS sent no arrival) and raises or clears its room-credit alarm. A
// room with postings still queued or sent is checked again at the next
// tick.
func (e *Engine) checkCredit(ctx context.Context, room string) error {
	gs, err := e.Queries.Guests(ctx, room)
	if err != nil {
		return err
	}
	e.rules.mu.Lock()
	standing, isUp := e.rules.credit[room]
	e.rules.mu.Unlock()
	if len(gs) == 0 {
		if isUp {
			e.clearCredit(room)
		}
		return nil
	}
	g := gs[0]
	if isUp && standing != g.Reservation {
		e.clearCredit(room) // a new stay
		isUp = false
	}
	limit, source := e.Credit.Limit(room, &g)
	if limit <= 0 {
		if isUp {
			e.clearCredit(room)
		}
		return nil
	}
	now := e.now()
	from := now.AddDate(0, 0, -30)
	if !g.Arrival.IsZero() {
		// The arrival is a date: its start in any zone is within a day
		// of UTC midnight, and the reservation narrows it down.
		from = time.Date(g.Arrival.Year(), g.Arrival.Month(), g.Arrival.Day(), 0, 0, 0, 0, time.UTC).Add(-24 * time.Hour)
	}
	totals := map[string]int64{}
	var calls int
	pending := false
	err = e.Queries.EachPage(ctx, Filter{Room: room, From: from, Limit: 1000}, func(es []Entry) error {
		for _, en := range es {
			if g.Reservation != "" && en.Reservation != g.Reservation {
				continue
			}
			switch en.State {
			case StatePosted, StatePostedByHand:
				if en.Charge != nil {
					totals[en.Charge.Currency] += en.Charge.TotalMinor
					calls++
				}
			case StateQueued, StateSent:
				pending = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending {
		e.rules.mu.Lock()
		e.rules.dirty[room] = true
		e.rules.mu.Unlock()
	}
	cur, total := "", int64(0)
	for c, t := range totals {
		if t > total || (t == total && c < cur) {
			cur, total = c, t
		}
	}
	if total <= limit {
		if isUp {
			e.clearCredit(room)
		}
		return nil
	}
	text := fmt.Sprintf("room %s: posted calls this stay come to %s, over its credit limit of %s (%s): call the guest or the front desk",
		room, e.amount(total, cur), e.amount(limit, cur), source)
	e.rules.mu.Lock()
	e.rules.credit[room] = g.Reservation
	e.rules.mu.Unlock()
	e.SetAlarm(Alarm{Kind: AlarmRoomCredit, Subject: room, Text: text, Detail: &AlarmDetail{
		Room: room, Reservation: g.Reservation, Count: calls, AmountMinor: total, Amount: e.major(total, cur), Currency: cur,
		Limit: e.amount(limit, cur) + " (" + source + ")"}}, true)
	return nil
}

func (e *Engine) clearCredit(room string) {
	e.rules.mu.Lock()
	delete(e.rules.credit, room)
	e.rules.mu.Unlock()
	e.SetAlarm(Alarm{Kind: AlarmRoomCredit, Subject: room}, false)
}
