package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
	"callgate/tariff"
)

// pagesSeen is the central without its SQL folds (every report then
// streams the entries into gateway/report's fold) that counts the pages
// and entries ChainEach gives and checks their order.
type pagesSeen struct {
	console.Chain
	mu                  sync.Mutex
	pages, most, scans  int
	byStart, outOfOrder bool
}

func (p *pagesSeen) ChainEach(ctx context.Context, sc console.ChainScan, fn func([]console.ChainEntry) error) error {
	var last time.Time
	return p.Chain.ChainEach(ctx, sc, func(es []console.ChainEntry) error {
		p.mu.Lock()
		p.pages++
		p.most = max(p.most, len(es))
		p.byStart = p.byStart || sc.ByStart
		for _, e := range es {
			if sc.ByStart && e.Call != nil {
				if e.Call.Start.Before(last) {
					p.outOfOrder = true
				}
				last = e.Call.Start
			}
		}
		p.mu.Unlock()
		return fn(es)
	})
}

// TestChainEveryReport: every report the chain console offers, computed at
// the central by streaming the entries from PostgreSQL a few at a time
// (console.ChainPage 5: a period of 1,600 entries is read in hundreds of
// pages, as a chain's month of 10 M calls is read in pages of 2,000, with
// no limit on the calls), equals the report gateway/report computes over
// the properties' own entries, number for number, over one property, a
// list and all; the sweeps (trunks, all-busy) get the calls in the order
// they started. A report that refuses (two currencies) refuses alike.
func TestChainEveryReport(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logs := loadChain(ctx, t, s)
	defer func(n int) { console.ChainPage = n }(console.ChainPage)
	console.ChainPage = 5
	from, to := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	expect := func(r report.Report, props []string) (string, error) {
		o := report.Options{From: from, To: to, MinorDigits: tariff.MinorDigits, Location: time.UTC, Thresholds: report.DefaultThresholds()}
		if len(props) == 1 {
			o.Location = logs[props[0]].Loc
		}
		in := report.InPeriod(o)
		type pe struct {
			p string
			e *gateway.Entry
		}
		var all []pe
		for _, p := range props {
			for _, e := range logs[p].Entries {
				if in(e) {
					all = append(all, pe{p, e})
				}
			}
		}
		// The central's order: entry time, property, entry.
		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if !a.e.Time.Equal(b.e.Time) {
				return a.e.Time.Before(b.e.Time)
			}
			if a.p != b.p {
				return a.p < b.p
			}
			return a.e.ID < b.e.ID
		})
		es := make([]gateway.Entry, len(all))
		for i, x := range all {
			es[i] = *x.e
		}
		tb, err := r.Run(es, o)
		if err != nil {
			return "", err
		}
		if len(props) > 1 {
			tb.Title = fmt.Sprintf("%s (%d properties)", tb.Title, len(props))
		}
		var b bytes.Buffer
		err = render.Write(&b, tb, "json")
		return b.String(), err
	}
	lists := [][]string{{"grand"}, {"beach", "grand"}, nil}
	for _, r := range report.Reports() {
		if r.Name == "carriers" {
			continue
		}
		for _, props := range lists {
			want, werr := expect(r, orAll(props))
			ch := &pagesSeen{Chain: chainStore{s}}
			o := report.Options{From: from, To: to, MinorDigits: tariff.MinorDigits}
			tb, gerr := console.ChainReport(ctx, ch, r, props, o)
			if werr != nil || gerr != nil {
				if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
					t.Errorf("%s over %v: central %v, property %v", r.Name, props, gerr, werr)
				}
				continue
			}
			var b bytes.Buffer
			if err := render.Write(&b, tb, "json"); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != want {
				t.Errorf("%s over %v:\n%s\nwant\n%s", r.Name, props, got, want)
			}
			if len(tb.Rows) == 0 && r.Name != "all-busy" && r.Name != "fraud" {
				t.Errorf("%s over %v: no rows", r.Name, props)
			}
			if r.Name == "all-busy" || r.Name == "fraud" {
				// No sized trunk group, no fraud rule at the central: the
				// table says so without reading an entry.
				if ch.pages != 0 {
					t.Errorf("%s over %v: %d pages read for a table that needs none", r.Name, props, ch.pages)
				}
			} else if ch.pages < 20 || ch.most > 5 || ch.byStart != r.ByStart() || ch.outOfOrder {
				t.Errorf("%s over %v: %d pages of at most %d, by start %v (want %v), out of order %v", r.Name, props, ch.pages, ch.most, ch.byStart, r.ByStart(), ch.outOfOrder)
			}
		}
	}
}

// orAll is props, or every property of loadChain for nil.
func orAll(props []string) []string {
	if props == nil {
		return []string{"beach", "dollar", "grand"}
	}
	return slices.Clone(props)
}
