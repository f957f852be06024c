package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// Kind says what a column holds, so that every output format can type its
// cells: a spreadsheet gets numbers and dates, not text.
type Kind int

// The kinds of column.
const (
	Str     Kind = iota // a string
	Int                 // an int64
	Float               // a float64, printed with Column.Decimals
	Money               // an Amount: integer minor units and their decimals
	Hour                // a time.Time on the hour (local wall clock): "2026-11-02T10:00"
	Date                // a time.Time at midnight (local date): "2026-11-02"
	Instant             // a time.Time (local wall clock, seconds): "2026-11-02T10:04:05"
)

// Column is one column of a table. Name is its snake_case name: the JSON
// key, the CSV header and the table heading.
type Column struct {
	Name     string
	Kind     Kind
	Decimals int // Float: digits after the point
}

// Amount is money in integer minor units with the number of decimals of its
// currency.
type Amount struct {
	Minor  int64
	Digits int
}

// String prints the amount exactly, as gateway.FormatMinor does.
func (a Amount) String() string { return gateway.FormatMinor(a.Minor, a.Digits) }

// Table is a report's result: named columns and rows of cells, one cell per
// column, of the Go type the column's Kind names (string, int64, float64,
// Amount, time.Time). Notes are sentences about the whole table (the
// busiest hour of the period, the settings used).
type Table struct {
	Name    string // the report's name: busy-hour
	Title   string // for people: "Busy hour: trunk traffic per hour"
	From    time.Time
	To      time.Time // the dates covered, both inclusive
	Columns []Column
	Rows    [][]any
	Notes   []string
	// Chart, when set, names the columns an HTML page draws: X (a label
	// or hour column) against Y (a number column).
	Chart *Chart
}

// Chart describes a chart of a table for the HTML format.
type Chart struct {
	Kind  string // "bars" or "line"
	X, Y  string // column names
	Title string
}

// Col returns the index of the column called name, or -1.
func (t *Table) Col(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Options are what every report needs besides the calls.
type Options struct {
	// From and To are the local site dates covered, both inclusive (only
	// their year, month and day count).
	From, To time.Time
	// Location is the site's time zone.
	Location *time.Location
	// Rooms maps extensions to rooms, for calls journaled without a room.
	Rooms gateway.RoomMap
	// TrunkGroups are the trunk groups; none means one group "all" of every
	// trunk seen, with no size (so no all-trunks-busy incidents).
	TrunkGroups []TrunkGroup
	// GoS is the grade of service sizing aims for (default 0.01).
	GoS float64
	// Thresholds drive the exceptions report.
	Thresholds Thresholds
	// MinorDigits gives a currency's decimals (tariff.MinorDigits); nil
	// means 2 for every currency.
	MinorDigits func(currency string) (int, bool)
	// Tariffs are the alternative tariffs of the carriers report.
	Tariffs []NamedRater
	// Fraud are the fraud rules (alarms.fraud) the fraud and exceptions
	// reports run over the period, as the engine runs them on each call.
	Fraud gateway.FraudRules
	// CallerPrefixDigits is how many leading digits of a caller ID make
	// its area in the caller-areas report (default 3: a North American
	// area code, or a UK 0xx code).
	CallerPrefixDigits int
}

// NamedRater is an alternative tariff for the carriers report.
type NamedRater struct {
	Name  string // shown in the report: the file's name
	Rater gateway.Rater
}

// TrunkGroup is a group of trunks that serves the same traffic: the unit of
// trunk sizing.
type TrunkGroup struct {
	Name string
	// Trunks are the trunk identifiers as the PBX prints them, or numeric
	// ranges "9001-9008".
	Trunks []string
	// Size is the number of trunks in the group (for blocking and
	// all-trunks-busy); 0 when unknown.
	Size int
}

// Contains reports whether the group holds trunk.
func (g TrunkGroup) Contains(trunk string) bool {
	for _, t := range g.Trunks {
		if t == trunk {
			return true
		}
		if r, ok := gateway.ParseExtensionRange(t); ok && strings.Contains(t, "-") && inRange(r, trunk) {
			return true
		}
	}
	return false
}

func inRange(r gateway.ExtensionRange, s string) bool {
	if len(s) != len(r.From) || s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s >= r.From && s <= r.To
}

// Thresholds are the limits of the exceptions report.
type Thresholds struct {
	LongCallMinutes int      // a call longer than this is long (default 60)
	CostlyMinor     int64    // a guest charge above this many minor units is costly (default 5000)
	ShortCallS      int      // an answered outgoing call this short or shorter is a likely misdial (default 5)
	UnusualFrom     int      // calls starting from this hour …
	UnusualTo       int      // … to before this hour are at unusual hours (default 1 to 5)
	PremiumClasses  []string // tariff classes that are premium (default premium)
}

// DefaultThresholds returns the exception thresholds used when the config
// sets none.
func DefaultThresholds() Thresholds {
	return Thresholds{LongCallMinutes: 60, CostlyMinor: 5000, ShortCallS: 5, UnusualFrom: 1, UnusualTo: 5, PremiumClasses: []string{"premium"}}
}

func (o *Options) digits(currency string) int {
	if o.MinorDigits != nil {
		if d, ok := o.MinorDigits(currency); ok {
			return d
		}
	}
	return 2
}

// Span returns the instants the options' dates cover: [start of From, start
// of the day after To) in the site's zone.
func (o *Options) Span() (time.Time, time.Time) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	from := time.Date(o.From.Year(), o.From.Month(), o.From.Day(), 0, 0, 0, 0, loc)
	to := time.Date(o.To.Year(), o.To.Month(), o.To.Day()+1, 0, 0, 0, 0, loc)
	return from, to
}

// wall returns the options' dates as wall-clock times (Location UTC, as
// Call.Start): [From 00:00, To+1 00:00).
func (o *Options) wall() (time.Time, time.Time) {
	from := time.Date(o.From.Year(), o.From.Month(), o.From.Day(), 0, 0, 0, 0, time.UTC)
	to := time.Date(o.To.Year(), o.To.Month(), o.To.Day()+1, 0, 0, 0, 0, time.UTC)
	return from, to
}

// Check says what is wrong with the options, in a sentence.
func (o *Options) Check() error {
	if o.From.IsZero() || o.To.IsZero() {
		return gateway.Errorf(gateway.KindInvalid, "a report needs the dates it covers: --from and --to")
	}
	f, t := o.wall()
	if !f.Before(t) {
		return gateway.Errorf(gateway.KindInvalid, "the report's --from date %s is after its --to date %s: swap them", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly))
	}
	if t.Sub(f) > 367*24*time.Hour {
		return gateway.Errorf(gateway.KindInvalid, "a report covers at most a year (%s to %s is longer): split it", o.From.Format(time.DateOnly), o.To.Format(time.DateOnly))
	}
	if o.GoS < 0 || o.GoS >= 1 || math.IsNaN(o.GoS) {
		return gateway.Errorf(gateway.KindInvalid, "the grade of service %v is not between 0 and 1 (0.01 for 1 %%)", o.GoS)
	}
	return nil
}

// pageSize is how many entries Entries reads at a time.
var pageSize = 20_000

// Entries reads every entry with a call in the options' dates through q,
// a page at a time.
func Entries(ctx context.Context, q gateway.Queries, o Options, history bool) ([]gateway.Entry, error) {
	f, in := periodFilter(o, history)
	// The pages' entries of the period, each page filtered in place, are
	// copied once into a list of the right size: a month's million entries
	// are not copied again at every growth of one list.
	var pages [][]gateway.Entry
	n := 0
	for {
		page, err := q.Entries(ctx, f)
		if err != nil {
			return nil, err
		}
		full := len(page) == f.Limit
		if full {
			f.After = page[len(page)-1].ID
		}
		kept := keep(page, in)
		clear(page[len(kept):])
		if len(kept) > 0 {
			pages = append(pages, kept)
			n += len(kept)
		}
		if !full {
			break
		}
	}
	if len(pages) == 1 {
		return pages[0], nil
	}
	out := make([]gateway.Entry, 0, n)
	for i, p := range pages {
		out = append(out, p...)
		pages[i] = nil // let the page go while the rest is copied
	}
	return out, nil
}

// periodFilter returns the filter that reads the options' period, and the
// test of an entry in it.
func periodFilter(o Options, history bool) (gateway.Filter, func(*gateway.Entry) bool) {
	from, to := o.Span()
	// Entry time is the call's start instant; a day's margin either side
	// catches PBXs whose clocks disagree with the zone, and the wall-clock
	// test decides.
	f := gateway.Filter{From: from.Add(-26 * time.Hour), To: to.Add(26 * time.Hour), Limit: pageSize, History: history}
	wf, wt := o.wall()
	return f, func(e *gateway.Entry) bool {
		return e.Call != nil && !e.Call.Start.Before(wf) && e.Call.Start.Before(wt)
	}
}

// InPeriod is the test Entries applies to an entry read for the options'
// period (a call, started on one of its local dates): for entries read
// from elsewhere, such as the central's (store/postgres).
func InPeriod(o Options) func(*gateway.Entry) bool {
	_, in := periodFilter(o, false)
	return in
}

// keep moves the entries of page that in accepts to its front, and returns
// them.
func keep(page []gateway.Entry, in func(*gateway.Entry) bool) []gateway.Entry {
	kept := page[:0]
	for i := range page {
		if in(&page[i]) {
			kept = append(kept, page[i])
		}
	}
	return kept
}

// Generate reads the period's entries through q and computes the report
// called name: what `gateway report` does, for the console's /reports.
// Package render writes the table in any of its Formats. A report that
// folds its entries in any order (every one but trunks and all-busy, which
// sweep the calls in the order they started, and exceptions and fraud with
// fraud rules set, which run them in the order they ended) never holds the
// period's entries at once: the journal's pages come in entry order.
func Generate(ctx context.Context, q gateway.Queries, name string, o Options) (*Table, error) {
	r, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	fo, err := r.Fold(o)
	if err == nil && !fo.Reads() {
		return fo.Table()
	}
	if err != nil || r.byStart {
		es, err := Entries(ctx, q, o, r.History)
		if err != nil {
			return nil, err
		}
		return r.Run(es, o)
	}
	f, _ := periodFilter(fo.o, r.History)
	err = q.EachPage(ctx, f, func(page []gateway.Entry) error {
		return fo.Add(page)
	})
	if err != nil {
		return nil, err
	}
	return fo.Table()
}

// A fold computes a report a page of entries at a time: add takes each page
// of the period's entries (and keeps none of them), table makes the table.
// It is the report's one definition: Run folds its entries in one page.
type fold interface {
	add(es []gateway.Entry)
	table() (*Table, error)
}

// A Fold computes one report over the entries of its period given a page
// at a time, in memory bounded by the report's own table (its rows by key,
// hour or call listed), never by the number of entries: the central streams
// its PostgreSQL rows into it (docs/chain-console.md). The table itself is
// bounded by MaxRows.
type Fold struct {
	r   Report
	o   Options
	f   fold
	in  func(*gateway.Entry) bool
	err error
}

// MaxRows is the most rows a report's table may hold: a report that would
// list more (a row per flagged call, per posting, per caller…) is refused
// as its rows grow past it, with a sentence saying to narrow it or to
// export the calls, rather than hold them all (docs/chain-console.md). A
// variable for tests.
var MaxRows = 200_000

// A counted fold tells how many rows its table has so far while it folds:
// the folds whose table grows with the entries (a row per call, posting or
// key), so that MaxRows is held as the rows are added.
type counted interface{ rows() int }

// An idle fold makes its table without reading an entry: the all-busy
// report with no trunk group of configured size, the fraud report with no
// fraud rule. Its table says why.
type idle interface{ idle() bool }

// Fold returns the fold of r over o's period, or an error saying why r
// cannot be folded under o (exceptions and fraud with fraud rules set run
// the rules over the whole period in the order the calls ended; carriers
// re-rates in memory).
func (r Report) Fold(o Options) (*Fold, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o.defaults()
	var fo fold
	if r.fold != nil {
		fo = r.fold(&o)
	}
	if fo == nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "the %s report cannot be computed page by page here: run it at the property", r.Name)
	}
	return &Fold{r: r, o: o, f: fo, in: InPeriod(o)}, nil
}

// ByStart reports whether r's fold needs the entries in the order their
// calls started (Call.Start, the wall clock): trunks and all-busy sweep
// the trunks' seizures as they begin and end. Any other fold takes its
// pages in any order.
func (r Report) ByStart() bool { return r.byStart }

// Reads reports whether the fold needs the period's entries at all: false
// when its table is known without them (all-busy with no trunk group of
// configured size, fraud with no fraud rule), so that the caller skips
// reading the period and goes straight to Table.
func (f *Fold) Reads() bool {
	i, ok := f.f.(idle)
	return !ok || !i.idle()
}

// Add folds a page of entries, keeping those of the period (it moves them
// to the page's front) and none of the page afterwards: the caller may
// reuse it. A ByStart report's pages must come in the order the calls
// started; Table says so if they did not. Once the table holds more than
// MaxRows rows, Add returns the refusal (and Table too): stop reading.
func (f *Fold) Add(page []gateway.Entry) error {
	if f.err != nil {
		return f.err
	}
	f.f.add(keep(page, f.in))
	if c, ok := f.f.(counted); ok && c.rows() > MaxRows {
		f.err = f.r.tooLong()
	}
	return f.err
}

// Table makes the report's table from what was added.
func (f *Fold) Table() (*Table, error) {
	if f.err != nil {
		return nil, f.err
	}
	t, err := f.f.table()
	if err != nil {
		return nil, err
	}
	if len(t.Rows) > MaxRows {
		return nil, f.r.tooLong()
	}
	return f.r.finish(t, &f.o), nil
}

// tooLong is the refusal of a table over MaxRows.
func (r Report) tooLong() error {
	return gateway.Errorf(gateway.KindInvalid, "the %s report has more than %s rows, more than a report shows: pick a shorter period (or fewer properties at the central), or export the calls instead",
		r.Name, thousands(MaxRows))
}

// thousands writes n with commas between its thousands: 200,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// A Report computes one table from the entries of its period.
type Report struct {
	Name    string
	Title   string
	Columns string // one line saying what each row is, for gateway report --help
	// History is set for a report that reads the entries' histories: pass
	// it to Entries.
	History bool
	// fold computes the table page by page; nil, or a nil fold, for a
	// report that needs its entries at once (run).
	fold func(o *Options) fold
	// byStart: fold needs the trunk calls in the order they started.
	byStart bool
	// run computes the table over every entry at once, where fold cannot.
	run func(es []gateway.Entry, o *Options) (*Table, error)
}

// Reports lists every report, in the order `gateway report --help` shows
// them.
func Reports() []Report {
	return []Report{
		{Name: "rooms", Title: "Calls and cost by room", Columns: "room, calls, minutes, carrier_cost, guest_charge", fold: keyFold("room", roomOf)},
		{Name: "extensions", Title: "Calls and cost by extension", Columns: "extension, calls, minutes, carrier_cost, guest_charge", fold: keyFold("extension", func(e *gateway.Entry, _ *Options) string { return e.Call.Extension })},
		{Name: "accounts", Title: "Calls and cost by account code", Columns: "account_code, calls, minutes, carrier_cost, guest_charge", fold: keyFold("account_code", func(e *gateway.Entry, _ *Options) string { return e.Call.AccountCode })},
		{Name: "classes", Title: "Calls and cost by call class", Columns: "class, calls, minutes, carrier_cost, guest_charge", fold: keyFold("class", func(e *gateway.Entry, _ *Options) string { return chargeOf(e).Class })},
		{Name: "destinations", Title: "Calls and cost by destination", Columns: "destination, calls, minutes, carrier_cost, guest_charge", fold: keyFold("destination", func(e *gateway.Entry, _ *Options) string { return chargeOf(e).Destination })},
		{Name: "busy-hour", Title: "Busy hour: trunk traffic per clock hour", Columns: "hour, calls, erlangs, ccs", fold: trafficFold(busyHourTable)},
		{Name: "busy-days", Title: "The busiest hour of each day", Columns: "day, hour, calls, erlangs, ccs", fold: trafficFold(busyDaysTable)},
		{Name: "trunks", Title: "Trunk use per hour, by trunk group and trunk", Columns: "hour, group, trunk, calls, seized_minutes, peak_simultaneous, all_busy_incidents, all_busy_s", fold: trunksFold, byStart: true},
		{Name: "all-busy", Title: "All-trunks-busy incidents", Columns: "group, start, end, duration_s", fold: allBusyFold, byStart: true},
		{Name: "gos", Title: "Grade of service: Erlang B blocking at the busy hour", Columns: "group, trunks, busy_hour, erlangs, blocking", fold: groupFold(gosTable)},
		{Name: "sizing", Title: "Trunks needed for the target grade of service", Columns: "group, busy_hour, erlangs, gos, trunks_needed, blocking, trunks_configured", fold: groupFold(sizingTable)},
		{Name: "exceptions", Title: "Calls that need a look", Columns: "start, extension, room, direction, dialed, destination, duration_s, guest_charge, reason", fold: exceptionsFold, run: exceptions},
		{Name: "callers", Title: "Inbound callers", Columns: "caller_id, calls, answered, unanswered, minutes", fold: inboundFold(callersTable, callerKey)},
		{Name: "caller-areas", Title: "Inbound calls by caller area", Columns: "prefix, calls, answered, minutes", fold: inboundFold(callerAreasTable, areaKey)},
		{Name: "unanswered", Title: "Unanswered inbound calls by hour of day", Columns: "hour, inbound, unanswered, unanswered_pct", fold: unansweredFold},
		{Name: "carriers", Title: "Carrier comparison: the period re-rated under other tariffs", Columns: "tariff, class, destination, calls, actual_cost, alternative_cost, difference", run: carriers},
		{Name: "fraud", Title: "Toll fraud: what the fraud rules catch", Columns: "first, last, extension, room, rule, calls, guest_charge, currency, limit, alarm", fold: fraudFold, run: fraud},
		{Name: "night-audit", Title: "Night audit: postings reconciled", Columns: "room, posting, start, state, amount, answer, resolved_by, reason", History: true, fold: nightAuditFold},
	}
}

// Lookup returns the report called name.
func Lookup(name string) (Report, error) {
	var names []string
	for _, r := range Reports() {
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	return Report{}, gateway.Errorf(gateway.KindInvalid, "there is no report called %q: use one of %s", name, strings.Join(names, ", "))
}

// Run computes the report over entries (those of the options' period, from
// Entries).
func (r Report) Run(es []gateway.Entry, o Options) (*Table, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o.defaults()
	var fo fold
	if r.fold != nil {
		fo = r.fold(&o)
	}
	var t *Table
	var err error
	switch {
	case fo == nil:
		t, err = r.run(es, &o)
	case r.byStart:
		t, err = foldByStart(fo, es)
	default:
		fo.add(es)
		t, err = fo.table()
	}
	if err != nil {
		return nil, err
	}
	if len(t.Rows) > MaxRows {
		return nil, r.tooLong()
	}
	return r.finish(t, &o), nil
}

// defaults fills the options a report may leave zero.
func (o *Options) defaults() {
	if o.GoS == 0 {
		o.GoS = 0.01
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.CallerPrefixDigits <= 0 {
		o.CallerPrefixDigits = 3
	}
}

// finish names the table and its dates.
func (r Report) finish(t *Table, o *Options) *Table {
	t.Name, t.Title = r.Name, r.Title
	t.From, t.To = dateOf(o.From), dateOf(o.To)
	return t
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

var noCharge gateway.Charge

func chargeOf(e *gateway.Entry) *gateway.Charge {
	if e.Charge == nil {
		return &noCharge
	}
	return e.Charge
}

func roomOf(e *gateway.Entry, o *Options) string {
	if e.Room != "" {
		return e.Room
	}
	room, _ := o.Rooms.Resolve(e.Call.Extension)
	return room
}

// minutes turns seconds into minutes with two decimals.
func minutes(s int64) float64 { return math.Round(float64(s)/60*100) / 100 }

// keyFold is the cost report by one key: every rated call counts, summed
// by key and currency; keyTable makes the table.
func keyFold(col string, key func(*gateway.Entry, *Options) string) func(*Options) fold {
	return func(o *Options) fold { return &keySums{col: col, key: key, o: o, m: map[[2]string]*KeySum{}} }
}

type keySums struct {
	col string
	key func(*gateway.Entry, *Options) string
	o   *Options
	m   map[[2]string]*KeySum
}

func (f *keySums) add(es []gateway.Entry) {
	for i := range es {
		e := &es[i]
		if e.Charge == nil {
			continue
		}
		k := [2]string{f.key(e, f.o), e.Charge.Currency}
		a := f.m[k]
		if a == nil {
			a = &KeySum{Key: k[0], Currency: k[1]}
			f.m[k] = a
		}
		a.Calls++
		a.Secs += int64(e.Call.DurationS)
		a.CarrierMinor += e.Charge.CarrierMinor
		a.ChargeMinor += e.Charge.TotalMinor
	}
}

func (f *keySums) rows() int { return len(f.m) }

func (f *keySums) table() (*Table, error) {
	sums := make([]KeySum, 0, len(f.m))
	for _, a := range f.m {
		sums = append(sums, *a)
	}
	return keyTable(f.col, sums, f.o)
}

// KeySum is a by-key report's sums of one key in one currency, the rated
// calls of the period (a charge, whatever its state): their number,
// connected seconds, carrier cost and guest charge.
type KeySum struct {
	Key, Currency string
	Calls, Secs   int64
	CarrierMinor  int64
	ChargeMinor   int64
}

// SumKey names the key of a report made of sums by key (rooms: "room",
// extensions, accounts, classes, destinations), whose sums FromKeySums
// takes; "" for any other report, and for rooms when o maps extensions to
// rooms (the key is then not the journaled room alone).
func (r Report) SumKey(o Options) string {
	switch r.Name {
	case "rooms":
		if o.Rooms.Same || len(o.Rooms.Map) > 0 || len(o.Rooms.Ranges) > 0 {
			return ""
		}
		return "room"
	case "extensions":
		return "extension"
	case "accounts":
		return "account_code"
	case "classes":
		return "class"
	case "destinations":
		return "destination"
	}
	return ""
}

// FromKeySums makes a report of sums by key (SumKey) from sums computed
// elsewhere (the central's PostgreSQL, docs/chain-console.md), with the
// same table code as Run: only the sums are done elsewhere.
func (r Report) FromKeySums(sums []KeySum, o Options) (*Table, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	col := r.SumKey(o)
	if col == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "the %s report is not made of sums by key", r.Name)
	}
	o.defaults()
	t, err := keyTable(col, sums, &o)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) > MaxRows {
		return nil, r.tooLong()
	}
	return r.finish(t, &o), nil
}

// keyTable makes a by-key table from its sums: one row per key, by guest
// charge then key; one currency, or an error.
func keyTable(col string, sums []KeySum, o *Options) (*Table, error) {
	type acc struct{ calls, secs, carrier, charge int64 }
	m := map[string]*acc{}
	var total acc
	currency := ""
	for _, s := range sums {
		if s.Currency != "" {
			if currency != "" && currency != s.Currency {
				return nil, gateway.Errorf(gateway.KindInvalid, "the period's calls were rated in more than one currency: report shorter periods, one currency each")
			}
			currency = s.Currency
		}
		a := m[s.Key]
		if a == nil {
			a = &acc{}
			m[s.Key] = a
		}
		for _, x := range []*acc{a, &total} {
			x.calls += s.Calls
			x.secs += s.Secs
			x.carrier += s.CarrierMinor
			x.charge += s.ChargeMinor
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]].charge != m[keys[j]].charge {
			return m[keys[i]].charge > m[keys[j]].charge
		}
		return keys[i] < keys[j]
	})
	d := o.digits(currency)
	t := &Table{Columns: []Column{{Name: col}, {Name: "calls", Kind: Int}, {Name: "minutes", Kind: Float, Decimals: 2},
		{Name: "carrier_cost", Kind: Money}, {Name: "guest_charge", Kind: Money}},
		Chart: &Chart{Kind: "bars", X: col, Y: "guest_charge", Title: "Guest charge by " + strings.ReplaceAll(col, "_", " ")}}
	for _, k := range keys {
		a := m[k]
		name := k
		if name == "" {
			name = "(none)"
		}
		t.Rows = append(t.Rows, []any{name, a.calls, minutes(a.secs), Amount{a.carrier, d}, Amount{a.charge, d}})
	}
	if currency != "" {
		t.Notes = append(t.Notes, fmt.Sprintf("%d rated calls, %.2f minutes, carrier cost %s %s, guest charge %s %s.",
			total.calls, minutes(total.secs), Amount{total.carrier, d}, currency, Amount{total.charge, d}, currency))
	} else {
		t.Notes = append(t.Notes, "No rated calls in the period.")
	}
	return t, nil
}

// exceptions lists the calls a manager should look at, one row per call
// with every reason it has; with fraud rules set, the rules run first over
// every call of the period in the order the calls ended (fraudHits).
func exceptions(es []gateway.Entry, o *Options) (*Table, error) {
	x := newExceptionList(o)
	// The fraud rules' alarms, on the calls that raised or fed them.
	fraudOf := map[int][]string{}
	fraudHits(es, o, func(i int, hits []gateway.FraudHit) {
		for _, h := range hits {
			fraudOf[i] = append(fraudOf[i], "fraud: "+h.Rule)
		}
	})
	for i := range es {
		x.entry(&es[i], fraudOf[i])
	}
	return x.table()
}

// exceptionsFold is the exceptions report page by page, without fraud
// rules (with them, exceptions runs over the whole period: nil). Its rows
// are the calls that need a look: the table's own size.
func exceptionsFold(o *Options) fold {
	if o.Fraud.On() {
		return nil
	}
	return newExceptionList(o)
}

// exceptionList is the exceptions table as its calls come.
type exceptionList struct {
	o      *Options
	t      *Table
	counts map[string]int
}

func newExceptionList(o *Options) *exceptionList {
	return &exceptionList{o: o, counts: map[string]int{}, t: &Table{Columns: []Column{{Name: "start", Kind: Instant}, {Name: "extension"}, {Name: "room"}, {Name: "direction"},
		{Name: "dialed"}, {Name: "destination"}, {Name: "duration_s", Kind: Int}, {Name: "guest_charge", Kind: Money}, {Name: "reason"}}}}
}

func (x *exceptionList) add(es []gateway.Entry) {
	for i := range es {
		x.entry(&es[i], nil)
	}
}

// entry adds e's row when it has a reason (fraud: the fraud rules' own).
func (x *exceptionList) entry(e *gateway.Entry, fraud []string) {
	o, th := x.o, x.o.Thresholds
	c, ch := e.Call, chargeOf(e)
	var why []string
	add := func(r string) { why = append(why, r); x.counts[r]++ }
	for _, r := range fraud {
		add(r)
	}
	answered := c.Answered == nil || *c.Answered
	if th.LongCallMinutes > 0 && c.DurationS > th.LongCallMinutes*60 {
		add(fmt.Sprintf("long (over %d min)", th.LongCallMinutes))
	}
	if th.CostlyMinor > 0 && ch.TotalMinor > th.CostlyMinor {
		add(fmt.Sprintf("costly (over %s)", Amount{th.CostlyMinor, o.digits(ch.Currency)}))
	}
	if c.Direction == gateway.Outgoing && answered && c.DurationS > 0 && c.DurationS <= th.ShortCallS {
		add(fmt.Sprintf("short (%d s or less)", th.ShortCallS))
	}
	if c.Direction == gateway.Outgoing && !answered {
		add("unanswered attempt")
	}
	if e.Charge != nil && slices.Contains(th.PremiumClasses, ch.Class) {
		add("premium destination")
	}
	if ch.Exception != nil {
		add(*ch.Exception)
	}
	if c.Direction != gateway.Internal && th.UnusualFrom != th.UnusualTo && inHours(c.Start.Hour(), th.UnusualFrom, th.UnusualTo) {
		add(fmt.Sprintf("unusual hour (%02d:00-%02d:00)", th.UnusualFrom, th.UnusualTo))
	}
	if len(why) == 0 {
		return
	}
	x.t.Rows = append(x.t.Rows, []any{c.Start, c.Extension, roomOf(e, o), string(c.Direction), gateway.MaskNumber(c.Dialed),
		ch.Destination, int64(c.DurationS), Amount{ch.TotalMinor, o.digits(ch.Currency)}, strings.Join(why, "; ")})
}

func (x *exceptionList) rows() int { return len(x.t.Rows) }

func (x *exceptionList) table() (*Table, error) {
	keys := make([]string, 0, len(x.counts))
	for k := range x.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.t.Notes = append(x.t.Notes, fmt.Sprintf("%s: %d", k, x.counts[k]))
	}
	return x.t, nil
}

// inHours reports whether hour h is in [from, to), wrapping past midnight
// when from > to.
func inHours(h, from, to int) bool {
	if from < to {
		return h >= from && h < to
	}
	return h >= from || h < to
}
