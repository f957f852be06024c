package report

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// month is November 2026 of a small hotel, placed so that every answer is
// known:
//
//   - every day at 09:00 rooms 101 and 102 each make a 600 s national call
//     on trunks 9001 and 9002 (2 calls, 1200 s: 0.333 erlangs; carrier 100,
//     charge 150 each), and two internal calls that no traffic report counts;
//   - on the 10th extension 201 (an office, account A7) makes four
//     international calls on trunks 9001-9004: 14:30-15:30, 14:40-15:20,
//     14:45-15:10, 14:50-15:00. Hour 14 carries 4500 s (1.25 E), hour 15
//     3600 s (1.0 E); all four trunks are in use from 14:50 to 15:00, one
//     600 s all-trunks-busy incident; the last call costs the guest 60.00;
//   - on the 20th at 23:30 an incoming call on trunk 9005 (outside the
//     group) talks 3600 s across midnight: 1800 s in each hour;
//   - on the 5th at 03:00 room 103 tries a call nobody answers.
type fixture struct {
	es []gateway.Entry
	o  Options
}

func month(t *testing.T) fixture {
	t.Helper()
	var es []gateway.Entry
	id := gateway.EntryID(0)
	add := func(ext, trunk string, dir gateway.Direction, start time.Time, dur int, answered bool, ch *gateway.Charge, account string) {
		id++
		c := &gateway.Call{Format: "test", Extension: ext, Dialed: "12125550100", Start: start, StartUTC: start,
			DurationS: dur, Direction: dir, Trunk: trunk, Answered: gateway.Bool(answered), AccountCode: account}
		if dir == gateway.Internal {
			c.Dialed, c.Trunk = "102", ""
		}
		es = append(es, gateway.Entry{ID: id, State: gateway.StateImported, Time: start, Call: c, Charge: ch})
	}
	national := func() *gateway.Charge {
		return &gateway.Charge{Class: "national", Destination: "USA", Chargeable: true, CarrierMinor: 100, TotalMinor: 150, Currency: "USD"}
	}
	intl := func(total int64) *gateway.Charge {
		return &gateway.Charge{Class: "international", Destination: "UK", Chargeable: true, CarrierMinor: 400, TotalMinor: total, Currency: "USD"}
	}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	for d := 1; d <= 30; d++ {
		add("101", "9001", gateway.Outgoing, at(d, 9, 0), 600, true, national(), "")
		add("102", "9002", gateway.Outgoing, at(d, 9, 0), 600, true, national(), "")
		add("101", "", gateway.Internal, at(d, 14, 0), 3000, true, &gateway.Charge{Class: "internal", Currency: "USD"}, "")
		add("102", "", gateway.Internal, at(d, 14, 20), 3000, true, &gateway.Charge{Class: "internal", Currency: "USD"}, "")
		if d == 10 {
			add("201", "9001", gateway.Outgoing, at(10, 14, 30), 3600, true, intl(1000), "A7")
			add("201", "9002", gateway.Outgoing, at(10, 14, 40), 2400, true, intl(1000), "A7")
			add("201", "9003", gateway.Outgoing, at(10, 14, 45), 1500, true, intl(1000), "A7")
			add("201", "9004", gateway.Outgoing, at(10, 14, 50), 600, true, intl(6000), "A7")
		}
		if d == 20 {
			add("102", "9005", gateway.Incoming, at(20, 23, 30), 3600, true, &gateway.Charge{Class: "incoming", Currency: "USD"}, "")
		}
		if d == 5 {
			add("103", "9003", gateway.Outgoing, at(5, 3, 0), 0, false, &gateway.Charge{Class: "national", Destination: "USA", Currency: "USD"}, "")
		}
	}
	nr, _ := gateway.ParseExtensionRange("200-299")
	o := Options{From: at(1, 0, 0), To: at(30, 0, 0), Location: time.UTC,
		Rooms:       gateway.RoomMap{Same: true, NotRooms: []gateway.ExtensionRange{nr}},
		TrunkGroups: []TrunkGroup{{Name: "pstn", Trunks: []string{"9001-9004"}, Size: 4}},
		Thresholds:  DefaultThresholds()}
	return fixture{es, o}
}

func run(t *testing.T, f fixture, name string) *Table {
	t.Helper()
	r, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := r.Run(f.es, f.o)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range tab.Rows {
		if len(row) != len(tab.Columns) {
			t.Fatalf("%s row %d has %d cells for %d columns", name, i, len(row), len(tab.Columns))
		}
	}
	return tab
}

// find returns the rows whose cells in the named columns equal the values.
func find(t *testing.T, tab *Table, match map[string]any) [][]any {
	t.Helper()
	var out [][]any
	for _, r := range tab.Rows {
		ok := true
		for k, v := range match {
			i := tab.Col(k)
			if i < 0 {
				t.Fatalf("%s has no column %s", tab.Name, k)
			}
			if r[i] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

func cell(t *testing.T, tab *Table, row []any, col string) any {
	t.Helper()
	i := tab.Col(col)
	if i < 0 {
		t.Fatalf("%s has no column %s", tab.Name, col)
	}
	return row[i]
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBusyHour(t *testing.T) {
	f := month(t)
	tab := run(t, f, "busy-hour")
	if len(tab.Rows) != 30*24 {
		t.Fatalf("%d rows, want one per hour of November", len(tab.Rows))
	}
	hour := func(d, h int) []any { return tab.Rows[(d-1)*24+h] }
	check := func(d, h int, calls int64, erl float64) {
		t.Helper()
		r := hour(d, h)
		if r[0] != time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) || r[1] != calls || !near(r[2].(float64), erl) || !near(r[3].(float64), erl*36) {
			t.Errorf("%d %02d:00: %v, want %d calls %.4f erlangs", d, h, r, calls, erl)
		}
	}
	check(1, 9, 2, 1200.0/3600)
	check(10, 14, 4, 1.25)
	check(10, 15, 0, 1.0)
	check(20, 23, 1, 0.5)
	check(21, 0, 0, 0.5)
	check(1, 14, 0, 0) // internal calls are no trunk traffic
	check(5, 3, 1, 0)  // an unanswered attempt starts in its hour, carries nothing
	notes := strings.Join(tab.Notes, "\n")
	if !strings.Contains(notes, "Busiest hour of the period: 2026-11-10T14:00, 4 calls, 1.250 erlangs (45.00 CCS)") ||
		!strings.Contains(notes, "Time-consistent busy hour: 09:00-10:00, 0.333 erlangs on average over 30 days") {
		t.Errorf("notes:\n%s", notes)
	}
	days := run(t, f, "busy-days")
	if len(days.Rows) != 30 {
		t.Fatalf("%d busy days", len(days.Rows))
	}
	want := map[int]int{1: 9, 10: 14, 20: 23, 21: 0}
	for d, h := range want {
		r := days.Rows[d-1]
		if r[0] != time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) || r[1] != time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) {
			t.Errorf("day %d: %v, want busy hour %02d:00", d, r, h)
		}
	}
}

func TestTrunks(t *testing.T) {
	f := month(t)
	tab := run(t, f, "trunks")
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	g := find(t, tab, map[string]any{"hour": at(10, 14), "group": "pstn", "trunk": ""})
	if len(g) != 1 || cell(t, tab, g[0], "calls") != int64(4) || cell(t, tab, g[0], "peak_simultaneous") != int64(4) ||
		cell(t, tab, g[0], "all_busy_incidents") != int64(1) || cell(t, tab, g[0], "all_busy_s") != int64(600) ||
		cell(t, tab, g[0], "seized_minutes") != 75.0 {
		t.Errorf("pstn 10th 14:00: %v", g)
	}
	g = find(t, tab, map[string]any{"hour": at(10, 15), "group": "pstn", "trunk": ""})
	if len(g) != 1 || cell(t, tab, g[0], "peak_simultaneous") != int64(3) || cell(t, tab, g[0], "calls") != int64(0) || cell(t, tab, g[0], "all_busy_s") != int64(0) {
		t.Errorf("pstn 10th 15:00: %v", g)
	}
	g = find(t, tab, map[string]any{"hour": at(3, 9), "group": "pstn", "trunk": ""})
	if len(g) != 1 || cell(t, tab, g[0], "peak_simultaneous") != int64(2) || cell(t, tab, g[0], "seized_minutes") != 20.0 {
		t.Errorf("pstn 3rd 09:00: %v", g)
	}
	g = find(t, tab, map[string]any{"hour": at(10, 14), "trunk": "9004"})
	if len(g) != 1 || cell(t, tab, g[0], "seized_minutes") != 10.0 || cell(t, tab, g[0], "peak_simultaneous") != int64(1) {
		t.Errorf("trunk 9004: %v", g)
	}
	if g = find(t, tab, map[string]any{"group": "(other)", "trunk": "9005"}); len(g) != 2 {
		t.Errorf("trunk 9005 outside every group: %v", g)
	}
	busy := run(t, f, "all-busy")
	if len(busy.Rows) != 1 || busy.Rows[0][1] != time.Date(2026, 11, 10, 14, 50, 0, 0, time.UTC) ||
		busy.Rows[0][2] != time.Date(2026, 11, 10, 15, 0, 0, 0, time.UTC) || busy.Rows[0][3] != int64(600) {
		t.Errorf("all-busy: %v", busy.Rows)
	}
}

func TestGoSAndSizing(t *testing.T) {
	f := month(t)
	tab := run(t, f, "gos")
	r := find(t, tab, map[string]any{"group": "pstn"})
	if len(r) != 1 || r[0][1] != int64(4) || r[0][2] != "2026-11-10T14:00" || !near(r[0][3].(float64), 1.25) ||
		math.Abs(r[0][4].(float64)-0.029413) > 1e-5 {
		t.Errorf("gos: %v", tab.Rows)
	}
	sz := run(t, f, "sizing")
	r = find(t, sz, map[string]any{"group": "pstn"})
	// B(1.25, 4) = 2.94 % > 1 %; B(1.25, 5) = 0.73 %.
	if len(r) != 1 || cell(t, sz, r[0], "trunks_needed") != int64(5) || cell(t, sz, r[0], "trunks_configured") != int64(4) ||
		math.Abs(cell(t, sz, r[0], "blocking").(float64)-0.00730) > 1e-4 {
		t.Errorf("sizing: %v", sz.Rows)
	}
	f.o.GoS = 0.05
	sz = run(t, f, "sizing")
	if r = find(t, sz, map[string]any{"group": "pstn"}); cell(t, sz, r[0], "trunks_needed") != int64(4) {
		t.Errorf("sizing at 5 %%: %v", sz.Rows)
	}
}

func TestCostReports(t *testing.T) {
	f := month(t)
	rooms := run(t, f, "rooms")
	// 101: 30 national calls and 30 internal ones; 102: the same and the
	// incoming call; 103: the attempt; 201 is an office (no room).
	want := map[string][]any{
		"101":    {int64(60), 30*10.0 + 30*50.0, Amount{3000, 2}, Amount{4500, 2}},
		"102":    {int64(61), 30*10.0 + 30*50.0 + 60, Amount{3000, 2}, Amount{4500, 2}},
		"103":    {int64(1), 0.0, Amount{0, 2}, Amount{0, 2}},
		"(none)": {int64(4), 135.0, Amount{1600, 2}, Amount{9000, 2}},
	}
	if len(rooms.Rows) != len(want) {
		t.Errorf("rooms: %v", rooms.Rows)
	}
	for _, r := range rooms.Rows {
		w := want[r[0].(string)]
		for i := range w {
			if r[i+1] != w[i] {
				t.Errorf("room %s: %v, want %v", r[0], r[1:], w)
				break
			}
		}
	}
	if rooms.Rows[0][0] != "(none)" {
		t.Errorf("rooms not by charge, highest first: %v", rooms.Rows)
	}
	acc := run(t, f, "accounts")
	if r := find(t, acc, map[string]any{"account_code": "A7"}); len(r) != 1 || r[0][1] != int64(4) || r[0][4] != (Amount{9000, 2}) {
		t.Errorf("accounts: %v", acc.Rows)
	}
	cls := run(t, f, "classes")
	if r := find(t, cls, map[string]any{"class": "national"}); len(r) != 1 || r[0][1] != int64(61) || r[0][3] != (Amount{6000, 2}) {
		t.Errorf("classes: %v", cls.Rows)
	}
	dst := run(t, f, "destinations")
	if r := find(t, dst, map[string]any{"destination": "UK"}); len(r) != 1 || r[0][2] != 135.0 {
		t.Errorf("destinations: %v", dst.Rows)
	}
	ext := run(t, f, "extensions")
	if r := find(t, ext, map[string]any{"extension": "201"}); len(r) != 1 || r[0][3] != (Amount{1600, 2}) {
		t.Errorf("extensions: %v", ext.Rows)
	}
}

func TestExceptions(t *testing.T) {
	f := month(t)
	tab := run(t, f, "exceptions")
	if len(tab.Rows) != 2 {
		t.Fatalf("exceptions: %v", tab.Rows)
	}
	if r := tab.Rows[0]; r[0] != time.Date(2026, 11, 5, 3, 0, 0, 0, time.UTC) || r[8] != "unanswered attempt; unusual hour (01:00-05:00)" || r[4] != "1212xxxxxxx" {
		t.Errorf("first exception: %v", r)
	}
	if r := tab.Rows[1]; r[1] != "201" || r[7] != (Amount{6000, 2}) || r[8] != "costly (over 50.00)" {
		t.Errorf("second exception: %v", r)
	}
	f.o.Thresholds.LongCallMinutes = 30 // the 3600 s, 2400 s and 3000 s calls
	tab = run(t, f, "exceptions")
	if n := len(find(t, tab, map[string]any{"reason": "long (over 30 min)"})); n != 2+60+1 {
		t.Errorf("%d long calls, want 63", n)
	}
}

func TestOptionsChecked(t *testing.T) {
	f := month(t)
	r, _ := Lookup("rooms")
	f.o.From, f.o.To = f.o.To, f.o.From
	if _, err := r.Run(f.es, f.o); err == nil || !strings.Contains(err.Error(), "swap them") {
		t.Errorf("from after to: %v", err)
	}
	if _, err := Lookup("nonsense"); err == nil || !strings.Contains(err.Error(), "busy-hour") {
		t.Errorf("unknown report: %v", err)
	}
}

// pager is Queries over a slice: Entries pages as the store does.
type pager struct {
	gateway.Queries
	es    []gateway.Entry
	calls int
}

func (p *pager) Entries(_ context.Context, f gateway.Filter) ([]gateway.Entry, error) {
	p.calls++
	var out []gateway.Entry
	for _, e := range p.es {
		if e.ID <= f.After || e.Time.Before(f.From) || !e.Time.Before(f.To) {
			continue
		}
		out = append(out, e)
		if len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// EachPage pages as the store does, and reuses its page: an entry kept
// beyond fn's call changes under the keeper.
func (p *pager) EachPage(ctx context.Context, f gateway.Filter, fn func([]gateway.Entry) error) error {
	var buf []gateway.Entry
	for {
		page, _ := p.Entries(ctx, f)
		if len(page) == 0 {
			return nil
		}
		buf = append(buf[:0], page...)
		n, last := len(buf), buf[len(buf)-1].ID
		if err := fn(buf); err != nil {
			return err
		}
		for i := range buf {
			buf[i] = gateway.Entry{ID: 1 << 40}
		}
		if n < f.Limit {
			return nil
		}
		f.After = last
	}
}

// TestGenerateFolds: the reports that fold page by page give the table
// that Run gives over all the entries.
func TestGenerateFolds(t *testing.T) {
	f := month(t)
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 7
	for _, r := range Reports() {
		name := r.Name
		if name == "carriers" {
			continue
		}
		want := run(t, f, name)
		p := &pager{es: f.es}
		got, err := Generate(context.Background(), p, name, f.o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s by pages:\n%+v\nwant\n%+v", name, got, want)
		}
		fo, _ := r.Fold(f.o)
		if fo != nil && !fo.Reads() {
			continue // TestIdleFoldsReadNothing
		}
		if p.calls < 2 {
			t.Errorf("%s: %d pages", name, p.calls)
		}
	}
}

// TestIdleFoldsReadNothing: all-busy with no trunk group of configured
// size and fraud with no fraud rule make the table Run makes over the
// period's entries (saying why it is empty) without reading an entry.
func TestIdleFoldsReadNothing(t *testing.T) {
	f := month(t)
	unsized := slices.Clone(f.o.TrunkGroups)
	for i := range unsized {
		unsized[i].Size = 0
	}
	for _, c := range []struct {
		name   string
		groups []TrunkGroup
		idle   bool
	}{{"all-busy", unsized, true}, {"all-busy", nil, true}, {"fraud", f.o.TrunkGroups, true}, {"all-busy", f.o.TrunkGroups, false}} {
		o := f.o
		o.TrunkGroups = c.groups
		r, _ := Lookup(c.name)
		want, err := r.Run(f.es, o)
		if err != nil {
			t.Fatal(err)
		}
		p := &pager{es: f.es}
		got, err := Generate(context.Background(), p, c.name, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%d groups) unread:\n%+v\nwant\n%+v", c.name, len(c.groups), got, want)
		}
		if idle := p.calls == 0; idle != c.idle {
			t.Errorf("%s (%d groups): %d reads of the journal, want idle %v", c.name, len(c.groups), p.calls, c.idle)
		}
	}
}

func TestEntriesPages(t *testing.T) {
	f := month(t)
	var es []gateway.Entry
	for i := 0; i < 25; i++ { // 25 copies: more than one page
		for _, e := range f.es {
			e.ID = gateway.EntryID(len(es) + 1)
			es = append(es, e)
		}
	}
	// One call the day before the period and one the day after.
	out := f.es[0]
	out.Call = &gateway.Call{Start: time.Date(2026, 10, 31, 23, 59, 0, 0, time.UTC), Direction: gateway.Outgoing}
	out.Time, out.ID = out.Call.Start, gateway.EntryID(len(es)+1)
	es = append(es, out)
	p := &pager{es: es}
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 1000
	got, err := Entries(context.Background(), p, f.o, false)
	if err != nil || len(got) != 25*len(f.es) || p.calls < 2 {
		t.Errorf("%d entries in %d pages, want %d: %v", len(got), p.calls, 25*len(f.es), err)
	}
}
