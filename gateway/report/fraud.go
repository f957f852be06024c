package report

import (
	"fmt"
	"sort"
	"time"

	"callgate/gateway"
)

// The fraud report and the exceptions report's fraud reasons run the
// engine's own fraud rules (gateway.FraudChecker, docs/alarms.md) over the
// period's calls: one definition of what an alarm is.

// fraudHits runs the rules over es in the order the calls ended, as the
// engine sees them, and calls fn with each entry's index and its hits.
func fraudHits(es []gateway.Entry, o *Options, fn func(i int, hits []gateway.FraudHit)) {
	if !o.Fraud.On() {
		return
	}
	order := make([]int, 0, len(es))
	for i := range es {
		if es[i].Call != nil && es[i].Charge != nil {
			order = append(order, i)
		}
	}
	end := func(i int) time.Time {
		c := es[i].Call
		t := c.StartUTC
		if t.IsZero() {
			t = c.Start
		}
		return t.Add(time.Duration(c.DurationS) * time.Second)
	}
	sort.SliceStable(order, func(a, b int) bool { return end(order[a]).Before(end(order[b])) })
	c := gateway.NewFraudChecker(o.Fraud, o.Rooms)
	for _, i := range order {
		if hits := c.Check(es[i].ID, es[i].Call, es[i].Charge); len(hits) > 0 {
			fn(i, hits)
		}
	}
}

func fraudTable() *Table {
	return &Table{Columns: []Column{{Name: "first", Kind: Instant}, {Name: "last", Kind: Instant}, {Name: "extension"}, {Name: "room"},
		{Name: "rule"}, {Name: "calls", Kind: Int}, {Name: "guest_charge", Kind: Money}, {Name: "currency"}, {Name: "limit"}, {Name: "alarm"}}}
}

// fraudFold is the fraud report page by page when no fraud rule is set
// (the table says so, whatever the calls); with rules, the report runs
// them over the whole period in the order the calls ended (nil).
func fraudFold(o *Options) fold {
	if o.Fraud.On() {
		return nil
	}
	return noFraud{}
}

type noFraud struct{}

func (noFraud) add([]gateway.Entry) {}

func (noFraud) idle() bool { return true }

func (noFraud) table() (*Table, error) {
	t := fraudTable()
	t.Notes = append(t.Notes, "No fraud rules are set (alarms.fraud in the config): nothing to check.")
	return t, nil
}

// fraud lists what the fraud rules catch in the period: one row per
// episode (a rule firing for an extension until it is quiet for an hour),
// with its first and last call, the most calls and cost it counted, and
// the sentence its alarm carries.
func fraud(es []gateway.Entry, o *Options) (*Table, error) {
	t := fraudTable()
	if !o.Fraud.On() {
		return noFraud{}.table()
	}
	open := map[string]int{} // extension/rule → its episode's row
	type peak struct {
		calls  int
		amount int64
	}
	peaks := map[int]*peak{}
	fraudHits(es, o, func(_ int, hits []gateway.FraudHit) {
		for _, h := range hits {
			key := h.Extension + "/" + h.Rule
			d := o.digits(h.Currency)
			amount := func(m int64, cur string) string { return gateway.FormatMinor(m, o.digits(cur)) + " " + cur }
			row, ok := open[key]
			if h.New || !ok {
				t.Rows = append(t.Rows, []any{h.First, h.Last, h.Extension, h.Room, h.Rule, int64(h.Count),
					Amount{h.AmountMinor, d}, h.Currency, h.Limit, h.Text(amount)})
				row = len(t.Rows) - 1
				open[key] = row
				peaks[row] = &peak{h.Count, h.AmountMinor}
				continue
			}
			p := peaks[row]
			p.calls, p.amount = max(p.calls, h.Count), max(p.amount, h.AmountMinor)
			r := t.Rows[row]
			r[1], r[5], r[6] = h.Last, int64(p.calls), Amount{p.amount, d}
			h.Count, h.AmountMinor = p.calls, p.amount
			r[9] = h.Text(amount)
		}
	})
	sort.SliceStable(t.Rows, func(a, b int) bool { return t.Rows[a][0].(time.Time).Before(t.Rows[b][0].(time.Time)) })
	byRule := map[string]int{}
	for _, r := range t.Rows {
		byRule[r[4].(string)]++
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		t.Notes = append(t.Notes, fmt.Sprintf("%s: %d", r, byRule[r]))
	}
	if len(t.Rows) == 0 {
		t.Notes = append(t.Notes, "No fraud rule fired in the period.")
	}
	return t, nil
}
