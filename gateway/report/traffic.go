package report

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"time"

	"callgate/gateway"
)

// Traffic is measured on the local wall clock of Call.Start: hour h of the
// period is [From 00:00 + h hours, + 1 hour) as the PBX prints time. (On the
// day the clocks change, the repeated or missing hour is not split.)
//
// A trunk call is an incoming or outgoing call (internal calls use no trunk).
// Its connected interval, which busy-hour traffic counts, starts after its
// ring time (where the PBX prints one) and lasts duration_s; its seizure,
// which trunk occupancy counts, starts at Call.Start and lasts ring time
// plus duration_s.

// interval is [from, to) in seconds since the period's first wall-clock
// instant.
type interval struct{ from, to int64 }

func trunkCall(c *gateway.Call) bool {
	return c.Direction == gateway.Incoming || c.Direction == gateway.Outgoing
}

func ringOf(c *gateway.Call) int64 {
	if c.RingS != nil && *c.RingS > 0 {
		return int64(*c.RingS)
	}
	return 0
}

// period is the hours of a report.
type period struct {
	start time.Time // wall clock of hour 0
	hours int
}

func periodOf(o *Options) period {
	f, t := o.wall()
	return period{f, int(t.Sub(f) / time.Hour)}
}

func (p period) sec(t time.Time) int64 { return int64(t.Sub(p.start) / time.Second) }

func (p period) hour(i int) time.Time { return p.start.Add(time.Duration(i) * time.Hour) }

// spread calls fn for every hour that [iv.from, iv.to) touches inside the
// period, with the seconds that fall in it.
func (p period) spread(iv interval, fn func(h int, s int64)) {
	end := int64(p.hours) * 3600
	from, to := max(iv.from, 0), min(iv.to, end)
	for from < to {
		h := from / 3600
		next := min((h+1)*3600, to)
		fn(int(h), next-from)
		from = next
	}
}

// hourly is the traffic of each hour of a period.
type hourly struct {
	calls []int64   // trunk calls started in the hour
	secs  []float64 // connected seconds in the hour
}

func (p period) hourly() hourly { return hourly{make([]int64, p.hours), make([]float64, p.hours)} }

// add adds the trunk calls of es to hs.
func (p period) add(hs hourly, es []gateway.Entry) {
	for i := range es {
		if c := es[i].Call; c != nil && trunkCall(c) {
			p.addCall(hs, c)
		}
	}
}

// addCall adds the trunk call c to hs: a call in the hour it starts in, its
// connected seconds in the hours they fall in.
func (p period) addCall(hs hourly, c *gateway.Call) {
	s := p.sec(c.Start)
	if s >= 0 && s/3600 < int64(p.hours) {
		hs.calls[s/3600]++
	}
	if c.DurationS > 0 {
		from := s + ringOf(c)
		p.spread(interval{from, from + int64(c.DurationS)}, func(h int, n int64) { hs.secs[h] += float64(n) })
	}
}

// trafficFold returns the fold of a report made from the period's hourly
// traffic: the calls are added page by page, then table makes the table.
func trafficFold(table func(period, hourly) *Table) func(*Options) fold {
	return func(o *Options) fold {
		p := periodOf(o)
		return &hourlyFold{p: p, hs: p.hourly(), make: table}
	}
}

type hourlyFold struct {
	p    period
	hs   hourly
	make func(period, hourly) *Table
}

func (f *hourlyFold) add(es []gateway.Entry) { f.p.add(f.hs, es) }

func (f *hourlyFold) table() (*Table, error) { return f.make(f.p, f.hs), nil }

func (hs hourly) erlangs(h int) float64 { return hs.secs[h] / 3600 }

// busiest returns the hour of most traffic in [from, to) (the earliest of
// equals); -1 when none of them has any.
func (hs hourly) busiest(from, to int) int {
	best := -1
	for h := from; h < to && h < len(hs.secs); h++ {
		if hs.secs[h] > 0 && (best < 0 || hs.secs[h] > hs.secs[best]) {
			best = h
		}
	}
	return best
}

// consistent returns the time-consistent busy hour: the clock hour (0-23)
// whose mean traffic over the period's days is highest, and that mean in
// erlangs; -1 when there is no traffic.
func (p period) consistent(hs hourly) (int, float64) {
	var sum [24]float64
	for h := range p.hours {
		sum[p.hour(h).Hour()] += hs.secs[h]
	}
	best := -1
	for h := range sum {
		if sum[h] > 0 && (best < 0 || sum[h] > sum[best]) {
			best = h
		}
	}
	if best < 0 {
		return -1, 0
	}
	days := float64(p.hours) / 24
	return best, sum[best] / 3600 / days
}

var trafficCols = []Column{{Name: "calls", Kind: Int}, {Name: "erlangs", Kind: Float, Decimals: 3}, {Name: "ccs", Kind: Float, Decimals: 2}}

func busyHourTable(p period, hs hourly) *Table {
	t := &Table{Columns: append([]Column{{Name: "hour", Kind: Hour}}, trafficCols...),
		Chart: &Chart{Kind: "bars", X: "hour", Y: "erlangs", Title: "Trunk traffic per hour (erlangs)"}}
	for h := range p.hours {
		e := hs.erlangs(h)
		t.Rows = append(t.Rows, []any{p.hour(h), hs.calls[h], e, e * 36})
	}
	if b := hs.busiest(0, p.hours); b >= 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("Busiest hour of the period: %s, %d calls, %.3f erlangs (%.2f CCS).",
			p.hour(b).Format("2006-01-02T15:04"), hs.calls[b], hs.erlangs(b), hs.erlangs(b)*36))
		ch, mean := p.consistent(hs)
		t.Notes = append(t.Notes, fmt.Sprintf("Time-consistent busy hour: %02d:00-%02d:00, %.3f erlangs on average over %d days.",
			ch, (ch+1)%24, mean, p.hours/24))
	} else {
		t.Notes = append(t.Notes, "No trunk traffic in the period.")
	}
	return t
}

func busyDaysTable(p period, hs hourly) *Table {
	t := &Table{Columns: append([]Column{{Name: "day", Kind: Date}, {Name: "hour", Kind: Hour}}, trafficCols...),
		Chart: &Chart{Kind: "bars", X: "day", Y: "erlangs", Title: "Busy-hour traffic per day (erlangs)"}}
	for d := 0; d*24 < p.hours; d++ {
		b := hs.busiest(d*24, d*24+24)
		if b < 0 {
			continue
		}
		e := hs.erlangs(b)
		t.Rows = append(t.Rows, []any{p.hour(d * 24), p.hour(b), hs.calls[b], e, e * 36})
	}
	if ch, mean := p.consistent(hs); ch >= 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("Time-consistent busy hour: %02d:00-%02d:00, %.3f erlangs on average.", ch, (ch+1)%24, mean))
	}
	return t
}

// grouping assigns every trunk call to its trunk group, as the calls come:
// the configured groups (or one group "all" of every trunk when none is
// configured), then "(other)" for trunks outside them once one is seen.
type grouping struct {
	groups     []TrunkGroup
	configured int
	other      int
	of         map[string]int // trunk → index in groups
}

const otherGroup = "(other)"

func newGrouping(o *Options) *grouping {
	g := &grouping{of: map[string]int{}, other: -1, configured: len(o.TrunkGroups)}
	if len(o.TrunkGroups) == 0 {
		g.groups = []TrunkGroup{{Name: "all"}}
	} else {
		g.groups = append(g.groups, o.TrunkGroups...)
	}
	return g
}

// assign returns the index of trunk's group.
func (g *grouping) assign(trunk string) int {
	if i, ok := g.of[trunk]; ok {
		return i
	}
	idx := -1
	if g.configured == 0 {
		idx = 0
	} else {
		for j, tg := range g.groups[:g.configured] {
			if tg.Contains(trunk) {
				idx = j
				break
			}
		}
	}
	if idx < 0 {
		if g.other < 0 {
			g.groups = append(g.groups, TrunkGroup{Name: otherGroup})
			g.other = len(g.groups) - 1
		}
		idx = g.other
	}
	g.of[trunk] = idx
	return idx
}

// trunksSeen returns the trunks of group gi that carried calls, sorted.
func (g *grouping) trunksSeen(gi int) []string {
	var out []string
	for t, i := range g.of {
		if i == gi {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// size is the group's configured size, or the trunks seen when none is.
func (g *grouping) size(gi int) (int, bool) {
	if s := g.groups[gi].Size; s > 0 {
		return s, true
	}
	return len(g.trunksSeen(gi)), false
}

// occupancy is what a sweep over seizures found.
type occupancy struct {
	calls     []int64
	seized    []int64 // seconds
	peak      []int64
	busyCount []int64 // all-trunks-busy incidents starting in the hour
	busySecs  []int64
	incidents []interval
}

// A sweeper measures the seizures of a set of calls given in the order
// they started, holding only the calls in progress (a min-heap of their
// ends): size > 0 also finds the moments when size or more were in use at
// once. Every instant at which seizures begin or end is taken whole, ends
// before starts: a call that ends as another begins does not overlap it.
type sweeper struct {
	p        period
	size     int64
	oc       occupancy
	level    int64
	lastHour int
	busyFrom int64
	ends     endHeap
	at       int64 // the instant of the pending starts
	starts   int64 // how many start at it; 0: none pending
	last     int64 // the last call's start
	seen     bool
	disorder bool // a call came before one already swept
}

func (p period) sweeper(size int) *sweeper {
	return &sweeper{p: p, size: int64(size), busyFrom: -1, oc: occupancy{calls: make([]int64, p.hours), seized: make([]int64, p.hours),
		peak: make([]int64, p.hours), busyCount: make([]int64, p.hours), busySecs: make([]int64, p.hours)}}
}

// call sweeps c, which starts no earlier than the calls before it.
func (w *sweeper) call(c *gateway.Call) {
	p := w.p
	end := int64(p.hours) * 3600
	s := p.sec(c.Start)
	if w.seen && s < w.last {
		w.disorder = true
	}
	w.seen, w.last = true, max(w.last, s)
	if s >= 0 && s < end {
		w.oc.calls[s/3600]++
	}
	iv := interval{s, s + ringOf(c) + int64(c.DurationS)}
	p.spread(iv, func(h int, n int64) { w.oc.seized[h] += n })
	iv.from, iv.to = max(iv.from, 0), min(iv.to, end)
	if iv.from >= iv.to {
		return
	}
	if w.starts > 0 && iv.from != w.at {
		w.flush()
	}
	w.at = iv.from
	w.starts++
	heap.Push(&w.ends, iv.to)
}

// flush takes the instants before the pending starts' (ends only), then
// theirs.
func (w *sweeper) flush() {
	for len(w.ends) > 0 && w.ends[0] < w.at {
		t := w.ends[0]
		w.instant(t, -w.popAt(t))
	}
	w.instant(w.at, w.starts-w.popAt(w.at))
	w.starts = 0
}

func (w *sweeper) popAt(t int64) int64 {
	n := int64(0)
	for len(w.ends) > 0 && w.ends[0] == t {
		heap.Pop(&w.ends)
		n++
	}
	return n
}

// finish takes every instant left: the pending starts and the ends after.
func (w *sweeper) finish() occupancy {
	if w.starts > 0 {
		w.flush()
	}
	for len(w.ends) > 0 {
		t := w.ends[0]
		w.instant(t, -w.popAt(t))
	}
	return w.oc
}

// instant applies the seizures that begin and end at one instant (delta,
// the net change) to the level, the hours' peaks and the incidents.
func (w *sweeper) instant(at, delta int64) {
	p, oc := w.p, &w.oc
	h := int(at / 3600)
	// Hours passed since the last change ran at the level they began with.
	for hh := w.lastHour + 1; hh < h && hh < p.hours; hh++ {
		oc.peak[hh] = max(oc.peak[hh], w.level)
	}
	if h > w.lastHour && at > int64(h)*3600 && h < p.hours {
		oc.peak[h] = max(oc.peak[h], w.level)
	}
	w.lastHour = h
	w.level += delta
	if h < p.hours {
		oc.peak[h] = max(oc.peak[h], w.level)
	}
	if w.size <= 0 {
		return
	}
	switch {
	case w.busyFrom < 0 && w.level >= w.size:
		w.busyFrom = at
	case w.busyFrom >= 0 && w.level < w.size:
		iv := interval{w.busyFrom, at}
		oc.incidents = append(oc.incidents, iv)
		oc.busyCount[iv.from/3600]++
		p.spread(iv, func(h int, n int64) { oc.busySecs[h] += n })
		w.busyFrom = -1
	}
}

// endHeap is a min-heap of the ends of the seizures in progress.
type endHeap []int64

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// A callFold takes the trunk calls one by one in the order they started
// (ByStart): the sweeps.
type callFold interface {
	fold
	call(c *gateway.Call)
}

// foldByStart folds the trunk calls of es in the order they started (a
// stable sort of pointers to them): what Run does for a ByStart report.
func foldByStart(fo fold, es []gateway.Entry) (*Table, error) {
	cf, ok := fo.(callFold)
	if !ok {
		return nil, fmt.Errorf("report: a fold by start has no call method")
	}
	var cs []*gateway.Call
	for i := range es {
		if c := es[i].Call; c != nil && trunkCall(c) {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b *gateway.Call) int { return a.Start.Compare(b.Start) })
	for _, c := range cs {
		cf.call(c)
	}
	return fo.table()
}

// addByStart gives a page's trunk calls to a fold by start.
func addByStart(cf callFold, es []gateway.Entry) {
	for i := range es {
		if c := es[i].Call; c != nil && trunkCall(c) {
			cf.call(c)
		}
	}
}

// errOrder is what a sweep says when its calls came out of order.
func errOrder(name string) error {
	return gateway.Errorf(gateway.KindInvalid, "the %s report needs the calls in the order they started, and they came in another: report it as a bug", name)
}

// trunkSweeps is the trunks report: a sweep per group and per trunk.
type trunkSweeps struct {
	p      period
	g      *grouping
	groups []*sweeper
	trunk  map[string]*sweeper
}

func trunksFold(o *Options) fold {
	return &trunkSweeps{p: periodOf(o), g: newGrouping(o), trunk: map[string]*sweeper{}}
}

func (f *trunkSweeps) add(es []gateway.Entry) { addByStart(f, es) }

func (f *trunkSweeps) call(c *gateway.Call) {
	gi := f.g.assign(c.Trunk)
	for len(f.groups) <= gi {
		// No all-trunks-busy without a configured size.
		f.groups = append(f.groups, f.p.sweeper(f.g.groups[len(f.groups)].Size))
	}
	f.groups[gi].call(c)
	w := f.trunk[c.Trunk]
	if w == nil {
		w = f.p.sweeper(0)
		f.trunk[c.Trunk] = w
	}
	w.call(c)
}

func (f *trunkSweeps) table() (*Table, error) {
	p, g := f.p, f.g
	t := &Table{Columns: []Column{{Name: "hour", Kind: Hour}, {Name: "group"}, {Name: "trunk"}, {Name: "calls", Kind: Int},
		{Name: "seized_minutes", Kind: Float, Decimals: 2}, {Name: "peak_simultaneous", Kind: Int},
		{Name: "all_busy_incidents", Kind: Int}, {Name: "all_busy_s", Kind: Int}}}
	type line struct {
		group, trunk string
		oc           occupancy
	}
	var lines []line
	for gi, tg := range g.groups {
		if gi >= len(f.groups) {
			continue // a group without calls has no rows
		}
		if f.groups[gi].disorder {
			return nil, errOrder("trunks")
		}
		lines = append(lines, line{tg.Name, "", f.groups[gi].finish()})
		for _, tr := range g.trunksSeen(gi) {
			lines = append(lines, line{tg.Name, tr, f.trunk[tr].finish()})
		}
	}
	for h := range p.hours {
		for _, l := range lines {
			oc := l.oc
			if oc.calls[h] == 0 && oc.seized[h] == 0 && oc.peak[h] == 0 {
				continue
			}
			t.Rows = append(t.Rows, []any{p.hour(h), l.group, l.trunk, oc.calls[h], minutes(oc.seized[h]), oc.peak[h], oc.busyCount[h], oc.busySecs[h]})
		}
	}
	for gi, tg := range g.groups {
		if tg.Size == 0 {
			n, _ := g.size(gi)
			t.Notes = append(t.Notes, fmt.Sprintf("Group %s has no configured size (%d trunks seen): no all-trunks-busy incidents are counted for it.", tg.Name, n))
		}
	}
	return t, nil
}

// busySweeps is the all-busy report: a sweep per group of configured size.
type busySweeps struct {
	p      period
	g      *grouping
	groups map[int]*sweeper
}

func allBusyFold(o *Options) fold {
	return &busySweeps{p: periodOf(o), g: newGrouping(o), groups: map[int]*sweeper{}}
}

func (f *busySweeps) add(es []gateway.Entry) { addByStart(f, es) }

// idle: no group of configured size, no incident to tell (the table says
// so whatever the calls).
func (f *busySweeps) idle() bool {
	for _, tg := range f.g.groups {
		if tg.Size > 0 {
			return false
		}
	}
	return true
}

// rows are the incidents found so far.
func (f *busySweeps) rows() int {
	n := 0
	for _, w := range f.groups {
		n += len(w.oc.incidents)
	}
	return n
}

func (f *busySweeps) call(c *gateway.Call) {
	gi := f.g.assign(c.Trunk)
	size := f.g.groups[gi].Size
	if size == 0 {
		return
	}
	w := f.groups[gi]
	if w == nil {
		w = f.p.sweeper(size)
		f.groups[gi] = w
	}
	w.call(c)
}

func (f *busySweeps) table() (*Table, error) {
	p := f.p
	t := &Table{Columns: []Column{{Name: "group"}, {Name: "start", Kind: Instant}, {Name: "end", Kind: Instant}, {Name: "duration_s", Kind: Int}}}
	for gi, tg := range f.g.groups {
		if tg.Size == 0 {
			continue
		}
		var incidents []interval
		if w := f.groups[gi]; w != nil {
			if w.disorder {
				return nil, errOrder("all-busy")
			}
			incidents = w.finish().incidents
		}
		for _, iv := range incidents {
			t.Rows = append(t.Rows, []any{tg.Name, p.start.Add(time.Duration(iv.from) * time.Second), p.start.Add(time.Duration(iv.to) * time.Second), iv.to - iv.from})
		}
		t.Notes = append(t.Notes, fmt.Sprintf("Group %s (%d trunks): %d all-trunks-busy incidents.", tg.Name, tg.Size, len(incidents)))
	}
	if len(t.Notes) == 0 {
		t.Notes = append(t.Notes, "No trunk group has a configured size (report.trunk_groups): all-trunks-busy cannot be told.")
	}
	return t, nil
}

// groupFold folds each trunk group's hourly traffic (in any order); table
// makes the report from each group's busiest hour of the period and its
// traffic in erlangs (hour -1 when the group carried nothing).
func groupFold(table func(g *grouping, p period, hours []int, erl []float64, o *Options) (*Table, error)) func(*Options) fold {
	return func(o *Options) fold { return &groupTraffic{o: o, p: periodOf(o), g: newGrouping(o), make: table} }
}

type groupTraffic struct {
	o    *Options
	p    period
	g    *grouping
	hs   []hourly
	make func(*grouping, period, []int, []float64, *Options) (*Table, error)
}

func (f *groupTraffic) add(es []gateway.Entry) {
	for i := range es {
		c := es[i].Call
		if c == nil || !trunkCall(c) {
			continue
		}
		gi := f.g.assign(c.Trunk)
		for len(f.hs) <= gi {
			f.hs = append(f.hs, f.p.hourly())
		}
		f.p.addCall(f.hs[gi], c)
	}
}

func (f *groupTraffic) table() (*Table, error) {
	n := len(f.g.groups)
	hours, erl := make([]int, n), make([]float64, n)
	for gi := range n {
		hours[gi] = -1
		if gi < len(f.hs) {
			hours[gi] = f.hs[gi].busiest(0, f.p.hours)
			if hours[gi] >= 0 {
				erl[gi] = f.hs[gi].erlangs(hours[gi])
			}
		}
	}
	return f.make(f.g, f.p, hours, erl, f.o)
}

func hourCell(p period, h int) any {
	if h < 0 {
		return ""
	}
	return p.hour(h).Format("2006-01-02T15:04")
}

func gosTable(g *grouping, p period, hours []int, erl []float64, _ *Options) (*Table, error) {
	t := &Table{Columns: []Column{{Name: "group"}, {Name: "trunks", Kind: Int}, {Name: "busy_hour"},
		{Name: "erlangs", Kind: Float, Decimals: 3}, {Name: "blocking", Kind: Float, Decimals: 4}}}
	for gi, tg := range g.groups {
		n, configured := g.size(gi)
		t.Rows = append(t.Rows, []any{tg.Name, int64(n), hourCell(p, hours[gi]), erl[gi], ErlangB(erl[gi], n)})
		if !configured {
			t.Notes = append(t.Notes, fmt.Sprintf("Group %s has no configured size: the %d trunks that carried calls are taken as its size.", tg.Name, n))
		}
	}
	t.Notes = append(t.Notes, "Blocking is Erlang B for the traffic of each group's busiest hour of the period.")
	return t, nil
}

func sizingTable(g *grouping, p period, hours []int, erl []float64, o *Options) (*Table, error) {
	t := &Table{Columns: []Column{{Name: "group"}, {Name: "busy_hour"}, {Name: "erlangs", Kind: Float, Decimals: 3},
		{Name: "gos", Kind: Float, Decimals: 4}, {Name: "trunks_needed", Kind: Int}, {Name: "blocking", Kind: Float, Decimals: 4},
		{Name: "trunks_configured", Kind: Int}}}
	for gi, tg := range g.groups {
		need, b, err := TrunksFor(erl[gi], o.GoS)
		if err != nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "group %s: %v", tg.Name, err)
		}
		t.Rows = append(t.Rows, []any{tg.Name, hourCell(p, hours[gi]), erl[gi], o.GoS, int64(need), b, int64(tg.Size)})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("Trunks needed so that at most %.2f %% of busy-hour calls are blocked (Erlang B).", o.GoS*100))
	return t, nil
}

// Hourly is the trunk traffic of each clock hour of a report's period,
// folded outside this package by the same rules as add above (the
// central's PostgreSQL: store/postgres's Traffic, docs/chain-console.md):
// Calls started in the hour, connected Secs in it. Hour h is
// TrafficPeriod's from plus h hours.
type Hourly struct {
	Calls []int64
	Secs  []int64
}

// TrafficPeriod returns the wall-clock bounds [from, to) of o's period (the
// wall clock written as UTC, as Call.Start is), whose hours Hourly holds.
func TrafficPeriod(o Options) (from, to time.Time) { return o.wall() }

// FromHourly makes a report made of the period's hourly traffic
// (busy-hour, busy-days) from hs, with the same table code as Run: only
// the fold is done elsewhere.
func (r Report) FromHourly(hs Hourly, o Options) (*Table, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o.defaults()
	p := periodOf(&o)
	if len(hs.Calls) != p.hours || len(hs.Secs) != p.hours {
		return nil, fmt.Errorf("report: %d hours of traffic for a period of %d", len(hs.Calls), p.hours)
	}
	h := p.hourly()
	copy(h.calls, hs.Calls)
	for i, s := range hs.Secs {
		h.secs[i] = float64(s)
	}
	var t *Table
	switch r.Name {
	case "busy-hour":
		t = busyHourTable(p, h)
	case "busy-days":
		t = busyDaysTable(p, h)
	default:
		return nil, gateway.Errorf(gateway.KindInvalid, "the %s report is not made of hourly traffic", r.Name)
	}
	return r.finish(t, &o), nil
}

// ByHour reports whether r is made of the period's hourly traffic alone,
// so FromHourly can make it.
func (r Report) ByHour() bool { return r.Name == "busy-hour" || r.Name == "busy-days" }
