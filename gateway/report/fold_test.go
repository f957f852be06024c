package report

import (
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
