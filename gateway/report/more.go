package report

import (
	"fmt"
	"sort"
	"strings"

	"callgate/gateway"
)

func inbound(e *gateway.Entry) bool { return e.Call.Direction == gateway.Incoming }

func answeredCall(c *gateway.Call) bool {
	if c.Answered != nil {
		return *c.Answered
	}
	return c.DurationS > 0
}

// inboundAcc is the inbound calls of one key: how many, answered, and their
// connected seconds.
type inboundAcc struct{ calls, answered, secs int64 }

func (a *inboundAcc) more(b *inboundAcc) bool { return a.calls > b.calls }

// inboundFold adds up the inbound calls by the key of each (bounded by
// the keys: the table's rows); table makes the report from the sums.
func inboundFold(table func(map[string]*inboundAcc, *Options) *Table, key func(*gateway.Call, *Options) string) func(*Options) fold {
	return func(o *Options) fold { return &inboundSums{o: o, key: key, make: table, m: map[string]*inboundAcc{}} }
}

type inboundSums struct {
	o    *Options
	key  func(*gateway.Call, *Options) string
	make func(map[string]*inboundAcc, *Options) *Table
	m    map[string]*inboundAcc
}

func (f *inboundSums) add(es []gateway.Entry) {
	for i := range es {
		e := &es[i]
		if !inbound(e) {
			continue
		}
		k := f.key(e.Call, f.o)
		a := f.m[k]
		if a == nil {
			a = &inboundAcc{}
			f.m[k] = a
		}
		a.calls++
		if answeredCall(e.Call) {
			a.answered++
		}
		a.secs += int64(e.Call.DurationS)
	}
}

func (f *inboundSums) rows() int { return len(f.m) }

func (f *inboundSums) table() (*Table, error) { return f.make(f.m, f.o), nil }

func callerKey(c *gateway.Call, _ *Options) string {
	if c.CallerID == "" {
		return "(withheld)"
	}
	return c.CallerID
}

// callersTable lists inbound callers by caller ID, most calls first.
func callersTable(m map[string]*inboundAcc, _ *Options) *Table {
	keys := sortedKeys(m, (*inboundAcc).more)
	t := &Table{Columns: []Column{{Name: "caller_id"}, {Name: "calls", Kind: Int}, {Name: "answered", Kind: Int},
		{Name: "unanswered", Kind: Int}, {Name: "minutes", Kind: Float, Decimals: 2}}}
	for _, k := range keys {
		a := m[k]
		t.Rows = append(t.Rows, []any{k, a.calls, a.answered, a.calls - a.answered, minutes(a.secs)})
	}
	return t
}

// sortedKeys returns m's keys ordered by more (then by key).
func sortedKeys[V any](m map[string]V, more func(a, b V) bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := m[keys[i]], m[keys[j]]
		if more(a, b) {
			return true
		}
		if more(b, a) {
			return false
		}
		return keys[i] < keys[j]
	})
	return keys
}

// callerArea is the caller ID's first digits (a leading + kept), the area
// or country code the call came from.
func callerArea(id string, n int) string {
	plus := strings.HasPrefix(id, "+")
	var b strings.Builder
	for _, r := range id {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
			if b.Len() == n {
				break
			}
		}
	}
	if b.Len() == 0 {
		return "(withheld)"
	}
	if plus {
		return "+" + b.String()
	}
	return b.String()
}

func areaKey(c *gateway.Call, o *Options) string { return callerArea(c.CallerID, o.CallerPrefixDigits) }

func callerAreasTable(m map[string]*inboundAcc, o *Options) *Table {
	t := &Table{Columns: []Column{{Name: "prefix"}, {Name: "calls", Kind: Int}, {Name: "answered", Kind: Int}, {Name: "minutes", Kind: Float, Decimals: 2}},
		Chart: &Chart{Kind: "bars", X: "prefix", Y: "calls", Title: "Inbound calls by caller area"}}
	for _, k := range sortedKeys(m, (*inboundAcc).more) {
		a := m[k]
		t.Rows = append(t.Rows, []any{k, a.calls, a.answered, minutes(a.secs)})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("The prefix is the first %d digits of the caller ID as the PBX delivered it.", o.CallerPrefixDigits))
	return t
}

// unansweredFold counts the inbound calls and the unanswered ones by the
// clock hour they started in.
func unansweredFold(*Options) fold { return &unansweredHours{} }

type unansweredHours struct{ in, un [24]int64 }

func (f *unansweredHours) add(es []gateway.Entry) {
	for i := range es {
		e := &es[i]
		if !inbound(e) {
			continue
		}
		h := e.Call.Start.Hour()
		f.in[h]++
		if !answeredCall(e.Call) {
			f.un[h]++
		}
	}
}

func (f *unansweredHours) table() (*Table, error) {
	t := &Table{Columns: []Column{{Name: "hour"}, {Name: "inbound", Kind: Int}, {Name: "unanswered", Kind: Int}, {Name: "unanswered_pct", Kind: Float, Decimals: 1}},
		Chart: &Chart{Kind: "bars", X: "hour", Y: "unanswered", Title: "Unanswered inbound calls by hour of day"}}
	for h := range 24 {
		pct := 0.0
		if f.in[h] > 0 {
			pct = float64(f.un[h]) * 100 / float64(f.in[h])
		}
		t.Rows = append(t.Rows, []any{fmt.Sprintf("%02d:00", h), f.in[h], f.un[h], pct})
	}
	return t, nil
}

// carriers re-rates every rated outgoing call of the period under each
// alternative tariff and compares the carrier cost with the actual one.
func carriers(es []gateway.Entry, o *Options) (*Table, error) {
	if len(o.Tariffs) == 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "the carriers report needs at least one alternative tariff: --tariff FILE, or report.carriers in the config")
	}
	type key struct{ tariff, class, dest string }
	type acc struct{ calls, actual, alt int64 }
	m := map[key]*acc{}
	var order []key
	currency := ""
	unpriced := map[string]int{}
	for _, nr := range o.Tariffs {
		total := key{nr.Name, "(all)", ""}
		m[total] = &acc{}
		for i := range es {
			e := &es[i]
			if e.Call.Direction != gateway.Outgoing || e.Charge == nil {
				continue
			}
			ch, err := nr.Rater.Rate(*e.Call)
			if err != nil || ch.Exception != nil {
				unpriced[nr.Name]++
				continue
			}
			if currency == "" {
				currency = e.Charge.Currency
			}
			if ch.Currency != currency || e.Charge.Currency != currency {
				return nil, gateway.Errorf(gateway.KindInvalid, "tariff %s prices in %s, the calls were rated in %s: compare tariffs of one currency", nr.Name, ch.Currency, e.Charge.Currency)
			}
			k := key{nr.Name, e.Charge.Class, e.Charge.Destination}
			a := m[k]
			if a == nil {
				a = &acc{}
				m[k] = a
				order = append(order, k)
			}
			for _, x := range []*acc{a, m[total]} {
				x.calls++
				x.actual += e.Charge.CarrierMinor
				x.alt += ch.CarrierMinor
			}
		}
		order = append(order, total)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.tariff != b.tariff {
			return false // keep the tariffs in the order given
		}
		if (a.class == "(all)") != (b.class == "(all)") {
			return b.class == "(all)"
		}
		return a.class < b.class || a.class == b.class && a.dest < b.dest
	})
	d := o.digits(currency)
	t := &Table{Columns: []Column{{Name: "tariff"}, {Name: "class"}, {Name: "destination"}, {Name: "calls", Kind: Int},
		{Name: "actual_cost", Kind: Money}, {Name: "alternative_cost", Kind: Money}, {Name: "difference", Kind: Money}}}
	for _, k := range order {
		a := m[k]
		t.Rows = append(t.Rows, []any{k.tariff, k.class, k.dest, a.calls, Amount{a.actual, d}, Amount{a.alt, d}, Amount{a.alt - a.actual, d}})
	}
	for _, nr := range o.Tariffs {
		if n := unpriced[nr.Name]; n > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("Tariff %s cannot price %d of the calls: they are left out of its rows.", nr.Name, n))
		}
	}
	t.Notes = append(t.Notes, "difference = alternative_cost - actual_cost: below zero, the other carrier would have cost less.")
	return t, nil
}

// nightAuditFold lists every posting of the period with its outcome and
// who resolved it (a row per posting: the table's own size), then totals
// per room and state in the notes.
func nightAuditFold(o *Options) fold {
	return &nightAudit{o: o, perRoom: map[string]map[gateway.State]*auditTotal{}, t: &Table{Columns: []Column{{Name: "room"}, {Name: "posting", Kind: Int}, {Name: "start", Kind: Instant}, {Name: "state"},
		{Name: "amount", Kind: Money}, {Name: "answer"}, {Name: "resolved_by"}, {Name: "reason"}}}}
}

type auditTotal struct{ n, minor int64 }

type nightAudit struct {
	o        *Options
	t        *Table
	perRoom  map[string]map[gateway.State]*auditTotal
	currency string
}

func (f *nightAudit) add(es []gateway.Entry) {
	o := f.o
	for i := range es {
		e := &es[i]
		if !audited(e) {
			continue
		}
		ch := chargeOf(e)
		if f.currency == "" {
			f.currency = ch.Currency
		}
		answer := ""
		if e.Answer != nil {
			answer = strings.TrimSpace(e.Answer.Code + " " + e.Answer.Text)
		}
		by, why := "", ""
		for _, h := range e.History {
			if h.Actor != "" {
				by, why = h.Actor, h.Reason
			}
		}
		if by == "" && e.State.NeedsPerson() {
			for _, h := range e.History {
				if h.To == e.State {
					why = h.Reason
				}
			}
		}
		room := e.Room
		f.t.Rows = append(f.t.Rows, []any{room, int64(e.Posting), e.Call.Start, string(e.State), Amount{ch.TotalMinor, o.digits(ch.Currency)}, answer, by, why})
		if f.perRoom[room] == nil {
			f.perRoom[room] = map[gateway.State]*auditTotal{}
		}
		x := f.perRoom[room][e.State]
		if x == nil {
			x = &auditTotal{}
			f.perRoom[room][e.State] = x
		}
		x.n++
		x.minor += ch.TotalMinor
	}
}

func (f *nightAudit) rows() int { return len(f.t.Rows) }

func (f *nightAudit) table() (*Table, error) {
	t, perRoom := f.t, f.perRoom
	sort.SliceStable(t.Rows, func(i, j int) bool {
		a, b := t.Rows[i], t.Rows[j]
		return a[0].(string) < b[0].(string)
	})
	rooms := make([]string, 0, len(perRoom))
	for r := range perRoom {
		rooms = append(rooms, r)
	}
	sort.Strings(rooms)
	d := f.o.digits(f.currency)
	all := map[gateway.State]*auditTotal{}
	for _, r := range rooms {
		var parts []string
		for _, s := range gateway.States {
			if x := perRoom[r][s]; x != nil {
				parts = append(parts, fmt.Sprintf("%s %d (%s)", s, x.n, Amount{x.minor, d}))
				if all[s] == nil {
					all[s] = &auditTotal{}
				}
				all[s].n += x.n
				all[s].minor += x.minor
			}
		}
		name := r
		if name == "" {
			name = "(no room)"
		}
		t.Notes = append(t.Notes, fmt.Sprintf("Room %s: %s.", name, strings.Join(parts, ", ")))
	}
	var parts []string
	for _, s := range gateway.States {
		if x := all[s]; x != nil {
			parts = append(parts, fmt.Sprintf("%s %d (%s)", s, x.n, Amount{x.minor, d}))
		}
	}
	if len(parts) == 0 {
		t.Notes = append(t.Notes, "No postings in the period.")
	} else {
		t.Notes = append(t.Notes, fmt.Sprintf("All rooms: %s.", strings.Join(parts, ", ")))
	}
	return t, nil
}

// audited reports whether an entry belongs in the night audit: it was or
// is to be posted, or a person must or did decide about it.
func audited(e *gateway.Entry) bool {
	switch e.State {
	case gateway.StateQueued, gateway.StateSent, gateway.StateResolving, gateway.StatePosted, gateway.StateRefused, gateway.StateInDoubt,
		gateway.StatePostedByHand, gateway.StateReposted, gateway.StateTransferred, gateway.StateVoided:
		return true
	case gateway.StateException:
		return e.Charge != nil && e.Charge.TotalMinor > 0
	}
	return false
}
