package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// foldPages folds es through r's Fold three entries a page, each page a
// copy wiped after Add: a fold that kept an entry would see it change.
func foldPages(t *testing.T, r Report, o Options, es []gateway.Entry) (*Table, error) {
	t.Helper()
	fo, err := r.Fold(o)
	if err != nil {
		t.Fatalf("%s: %v", r.Name, err)
	}
	for i := 0; i < len(es); i += 3 {
		page := slices.Clone(es[i:min(i+3, len(es))])
		fo.Add(page)
		for j := range page {
			page[j] = gateway.Entry{ID: 1 << 40, Call: &gateway.Call{Extension: "wiped", Trunk: "wiped", Direction: gateway.Incoming}}
		}
	}
	return fo.Table()
}

// TestFoldsEqualRun: every report but carriers folds page by page to the
// table Run computes over all the entries at once, with entries outside
// the period among the pages; the sweeps (ByStart) take the calls in the
// order they started, the others in the journal's order.
func TestFoldsEqualRun(t *testing.T) {
	f := month(t)
	es := slices.Clone(f.es)
	before := es[0]
	before.Call = &gateway.Call{Start: time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), DurationS: 7200, Direction: gateway.Outgoing, Trunk: "9001"}
	es = append([]gateway.Entry{before}, es...)
	for _, groups := range [][]TrunkGroup{f.o.TrunkGroups, nil} {
		o := f.o
		o.TrunkGroups = groups
		for _, r := range Reports() {
			if r.Name == "carriers" {
				continue
			}
			want, err := r.Run(f.es, o)
			if err != nil {
				t.Fatal(err)
			}
			in := slices.Clone(es)
			if r.ByStart() {
				slices.SortStableFunc(in, func(a, b gateway.Entry) int { return a.Call.Start.Compare(b.Call.Start) })
			}
			got, err := foldPages(t, r, o, in)
			if err != nil {
				t.Fatalf("%s: %v", r.Name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%d groups) by pages:\n%+v\nwant\n%+v", r.Name, len(groups), got, want)
			}
		}
	}
}

// TestRunSortsSweeps: Run sorts the trunk calls by start for the sweeps,
// whatever order the entries come in; their fold, given calls out of
// order, says so rather than compute a wrong table.
func TestRunSortsSweeps(t *testing.T) {
	f := month(t)
	rev := slices.Clone(f.es)
	slices.Reverse(rev)
	for _, name := range []string{"trunks", "all-busy"} {
		r, _ := Lookup(name)
		want := run(t, f, name)
		got, err := r.Run(rev, f.o)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s over reversed entries: %v\n%+v\nwant\n%+v", name, err, got, want)
		}
		if _, err := foldPages(t, r, f.o, rev); err == nil || !strings.Contains(err.Error(), "order they started") {
			t.Errorf("%s folded out of order: %v", name, err)
		}
	}
}

// TestFoldRefused: with fraud rules set, exceptions and fraud run the
// rules over the whole period (Run), and Fold says so; carriers too.
func TestFoldRefused(t *testing.T) {
	f := month(t)
	f.o.Fraud = gateway.FraudRules{InternationalPerHour: 3}
	for _, name := range []string{"exceptions", "fraud", "carriers"} {
		r, _ := Lookup(name)
		if _, err := r.Fold(f.o); err == nil || !strings.Contains(err.Error(), "run it at the property") {
			t.Errorf("%s with fraud rules: %v", name, err)
		}
	}
}

// TestSweepBackToBack: a call that ends as another begins on the same
// trunk does not overlap it, in Run and in the fold alike: one trunk in
// use, one all-trunks-busy incident of both calls for a group of one.
func TestSweepBackToBack(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 3, h, m, 0, 0, time.UTC) }
	var es []gateway.Entry
	for i, start := range []time.Time{at(10, 0), at(10, 10), at(10, 10), at(10, 30)} {
		trunk := "9001"
		if i == 2 {
			trunk = "9002" // another group: not in the sweep of 9001's
		}
		c := &gateway.Call{Start: start, DurationS: 600, Direction: gateway.Outgoing, Trunk: trunk}
		es = append(es, gateway.Entry{ID: gateway.EntryID(i + 1), Time: start, Call: c})
	}
	o := Options{From: at(0, 0), To: at(0, 0), Location: time.UTC,
		TrunkGroups: []TrunkGroup{{Name: "one", Trunks: []string{"9001"}, Size: 1}, {Name: "two", Trunks: []string{"9002"}, Size: 1}}}
	for _, name := range []string{"trunks", "all-busy"} {
		r, _ := Lookup(name)
		want, err := r.Run(es, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := foldPages(t, r, o, es)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s folded: %v\n%+v\nwant\n%+v", name, err, got, want)
		}
		switch name {
		case "trunks":
			for _, row := range want.Rows {
				if row[1] == "one" && row[5] != int64(1) {
					t.Errorf("back-to-back calls overlap: %v", row)
				}
			}
		case "all-busy":
			if len(want.Rows) != 3 || want.Rows[0][0] != "one" || want.Rows[0][3] != int64(1200) || want.Rows[1][3] != int64(600) {
				t.Errorf("all-busy: %v", want.Rows)
			}
		}
	}
}

// TestFoldMaxRows: a report whose table would hold more than MaxRows rows
// is refused with a sentence saying what to do; the folds whose rows grow
// with the entries (a row per flagged call, posting, caller, key, all-busy
// incident) refuse it from Add, as the rows are added, so that the reader
// stops; a table of MaxRows rows is made whole.
func TestFoldMaxRows(t *testing.T) {
	f := month(t)
	f.es = slices.Clone(f.es)
	for i := range f.es { // posted: the night audit's rows; callers each their own
		if f.es[i].Charge != nil {
			f.es[i].State, f.es[i].Posting = gateway.StatePosted, uint32(f.es[i].ID)
		}
		c := *f.es[i].Call
		c.CallerID = fmt.Sprintf("0043%d", f.es[i].ID)
		if i%2 == 0 {
			c.Direction = gateway.Incoming
		}
		f.es[i].Call = &c
	}
	f.o.TrunkGroups = []TrunkGroup{{Name: "pstn", Trunks: []string{"9001-9004"}, Size: 1}} // all busy often
	defer func(n int) { MaxRows = n }(MaxRows)
	for _, name := range []string{"exceptions", "night-audit", "callers", "rooms", "all-busy", "trunks"} {
		r, _ := Lookup(name)
		MaxRows = 200_000
		want, err := r.Run(f.es, f.o)
		if err != nil {
			t.Fatal(err)
		}
		n := len(want.Rows)
		if n < 2 {
			t.Fatalf("%s: %d rows in the fixture's table, too few to test", name, n)
		}
		in := slices.Clone(f.es)
		if r.ByStart() {
			slices.SortStableFunc(in, func(a, b gateway.Entry) int { return a.Call.Start.Compare(b.Call.Start) })
		}
		MaxRows = n
		if got, err := foldPages(t, r, f.o, in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s with MaxRows %d, its own rows: %v", name, n, err)
		}
		MaxRows = n - 1
		if _, err := foldPages(t, r, f.o, in); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the %s report has more than %d rows", name, n-1)) ||
			!strings.Contains(err.Error(), "export the calls") {
			t.Errorf("%s over MaxRows %d: %v", name, n-1, err)
		}
		if _, err := r.Run(f.es, f.o); err == nil {
			t.Errorf("%s: Run made a table over MaxRows", name)
		}
		if name == "trunks" {
			continue // its rows are made by Table
		}
		// Refused as the rows come: Add says so before the last page.
		MaxRows = n / 2
		fo, err := r.Fold(f.o)
		if err != nil {
			t.Fatal(err)
		}
		pages, refused := 0, false
		for i := 0; i < len(in) && !refused; i += 3 {
			pages++
			refused = fo.Add(slices.Clone(in[i:min(i+3, len(in))])) != nil
		}
		if !refused || pages*3 >= len(in) {
			t.Errorf("%s with MaxRows %d of %d rows: Add took %d pages of %d entries (refused %v)", name, n/2, n, pages, len(in), refused)
		}
		if _, err := fo.Table(); err == nil {
			t.Errorf("%s: a table after Add's refusal", name)
		}
	}
	MaxRows = 1_234_567
	if err := (Report{Name: "x"}).tooLong(); !strings.Contains(err.Error(), "more than 1,234,567 rows") {
		t.Errorf("the refusal's number: %v", err)
	}
}

// TestSweepGoldens: the sweeps (trunks, all-busy) folded a page at a time
// (pages of 3 and of 7 entries, by start, each wiped after Add) make the
// tables the code made before the folds (b45bc25: a sort and a sweep over
// all the entries at once) for the random cases of sweepCase pinned in
// testdata/sweeps: no fold against Run, which is now the fold itself.
func TestSweepGoldens(t *testing.T) {
	files, err := filepath.Glob("testdata/sweeps/seed-*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("%d goldens: %v", len(files), err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var g map[string]json.RawMessage
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		var seed int64
		if err := json.Unmarshal(g["seed"], &seed); err != nil {
			t.Fatal(err)
		}
		es, o := sweepCase(seed)
		slices.SortStableFunc(es, func(a, b gateway.Entry) int { return a.Call.Start.Compare(b.Call.Start) })
		for _, name := range []string{"trunks", "all-busy"} {
			r, _ := Lookup(name)
			for _, size := range []int{3, 7} {
				fo, err := r.Fold(o)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < len(es); i += size {
					page := slices.Clone(es[i:min(i+size, len(es))])
					if err := fo.Add(page); err != nil {
						t.Fatal(err)
					}
					for j := range page {
						page[j] = gateway.Entry{ID: 1 << 40, Call: &gateway.Call{Trunk: "wiped", Direction: gateway.Incoming}}
					}
				}
				got, err := fo.Table()
				if err != nil {
					t.Fatalf("%s seed %d: %v", name, seed, err)
				}
				var want, have any
				gb, _ := json.Marshal(got)
				json.Unmarshal(gb, &have)
				json.Unmarshal(g[name], &want)
				if !reflect.DeepEqual(have, want) {
					t.Errorf("%s, seed %d, pages of %d:\n%s\nwant\n%s", name, seed, size, gb, g[name])
				}
			}
		}
	}
}
