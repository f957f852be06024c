package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
	"callgate/tariff"
)

// entriesOnly is the central without its SQL fold: ChainReport then runs
// gateway/report's own fold over the entries.
type entriesOnly struct{ console.Chain }

// TestChainReportsSQL: the busy-hour and busy-days reports made from the
// hourly traffic PostgreSQL folds (store/postgres's Traffic), and the
// by-key reports made from its sums (Sums), equal the same reports computed
// by gateway/report over the same entries, number for number, over one
// property, a list and all — with ring times, calls of several hours, calls
// across the period's start and end, internal and incoming calls, unparsed
// and unrated entries, rooms and account codes on some calls, two time
// zones; and over two currencies both refuse alike.
func TestChainReportsSQL(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	loadChain(ctx, t, s)
	sql := chainStore{s}
	go_ := entriesOnly{sql}
	if _, ok := console.Chain(sql).(console.ChainTraffic); !ok {
		t.Fatal("the central does not fold the traffic in SQL")
	}
	if _, ok := console.Chain(sql).(console.ChainSums); !ok {
		t.Fatal("the central does not sum by key in SQL")
	}
	for _, tc := range []struct {
		report   string
		props    []string
		from, to string
	}{
		{"busy-hour", nil, "2026-12-03", "2026-12-05"},
		{"rooms", []string{"beach", "grand"}, "2026-12-03", "2026-12-05"},
		{"extensions", []string{"grand"}, "2026-12-02", "2026-12-06"},
		{"accounts", []string{"beach", "grand"}, "2026-12-03", "2026-12-04"},
		{"classes", []string{"beach"}, "2026-12-03", "2026-12-05"},
		{"destinations", []string{"beach", "grand"}, "2026-12-02", "2026-12-06"},
		{"classes", []string{"dollar"}, "2026-12-02", "2026-12-06"},
		{"busy-hour", []string{"grand"}, "2026-12-03", "2026-12-04"},
		{"busy-days", []string{"beach", "grand"}, "2026-12-02", "2026-12-06"},
		{"busy-days", []string{"beach"}, "2026-12-04", "2026-12-04"},
	} {
		r, _ := report.Lookup(tc.report)
		o := report.Options{MinorDigits: tariff.MinorDigits}
		o.From, _ = time.Parse(time.DateOnly, tc.from)
		o.To, _ = time.Parse(time.DateOnly, tc.to)
		var out [2]string
		for i, ch := range []console.Chain{sql, go_} {
			tb, err := console.ChainReport(ctx, ch, r, tc.props, o)
			if err != nil {
				t.Fatalf("%s over %v: %v", tc.report, tc.props, err)
			}
			var b bytes.Buffer
			if err := render.Write(&b, tb, "json"); err != nil {
				t.Fatal(err)
			}
			out[i] = b.String()
		}
		if out[0] != out[1] {
			t.Errorf("%s over %v %s..%s: SQL\n%s\nGo\n%s", tc.report, tc.props, tc.from, tc.to, out[0], out[1])
		}
		if !bytes.Contains([]byte(out[0]), []byte(`"erlangs":`)) && !bytes.Contains([]byte(out[0]), []byte(`"guest_charge":`)) {
			t.Errorf("%s over %v: nearly empty: %s", tc.report, tc.props, out[0])
		}
	}
	// Two currencies: both refuse, with the same sentence.
	r, _ := report.Lookup("classes")
	o := report.Options{From: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	_, e1 := console.ChainReport(ctx, sql, r, nil, o)
	_, e2 := console.ChainReport(ctx, go_, r, nil, o)
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Errorf("classes over EUR and USD: SQL %v, Go %v", e1, e2)
	}
}

// loadChain ships three properties' random calls into s and returns their
// logs: grand (Vienna, 900 entries), beach (UTC, 700), dollar (UTC, 60,
// rated in USD) — ring times, calls of several hours, calls across the
// period's start and end, internal and incoming calls, unparsed and
// unrated entries, rooms and account codes on some calls.
func loadChain(ctx context.Context, t *testing.T, s *postgres.Store) map[string]*gatewaytest.ShipLog {
	t.Helper()
	logs := map[string]*gatewaytest.ShipLog{}
	vienna, _ := time.LoadLocation("Europe/Vienna")
	rng := rand.New(rand.NewPCG(16, 3))
	for _, p := range []struct {
		name     string
		loc      *time.Location
		n        int
		currency string
	}{{"grand", vienna, 900, "EUR"}, {"beach", time.UTC, 700, "EUR"}, {"dollar", time.UTC, 60, "USD"}} {
		if _, err := s.AddProperty(ctx, p.name); err != nil {
			t.Fatal(err)
		}
		l := gatewaytest.NewShipLog("e-"+p.name, time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC), p.loc)
		for i := 0; i < p.n; i++ {
			l.Tick(time.Duration(rng.IntN(600)) * time.Second)
			id := l.Capture(fmt.Sprintf("record %d", i))
			if i%37 == 0 {
				continue // unparsed: no call
			}
			start := l.Now().Add(-time.Duration(rng.IntN(7200)) * time.Second).Truncate(time.Second)
			wall, _ := time.Parse(gateway.WallClockLayout, start.In(p.loc).Format(gateway.WallClockLayout))
			dir := []gateway.Direction{gateway.Outgoing, gateway.Incoming, gateway.Internal}[rng.IntN(3)]
			dur := rng.IntN(400)
			switch {
			case i%50 == 1:
				dur = 3*3600 + rng.IntN(7200) // hours long
			case i%9 == 0:
				dur = 0
			}
			c := &gateway.Call{Format: "test", Extension: fmt.Sprint(200 + i%40), Dialed: "004420794600", Start: wall, StartUTC: start,
				DurationS: dur, Direction: dir, Trunk: fmt.Sprint(1 + i%4)}
			if i%3 != 0 {
				c.RingS = gateway.Int(rng.IntN(45))
			}
			if i%3 == 0 {
				c.AccountCode = fmt.Sprint(40 + i%5)
			}
			if dir == gateway.Incoming {
				c.Answered = gateway.Bool(dur > 0)
				if i%5 != 0 {
					c.CallerID = fmt.Sprintf("+43158%04d", i%17) // the fifth withheld
				}
			}
			if i%11 == 0 {
				// A call the tariff did not rate: no charge.
				l.Move(id, gatewaytest.ShipMove{To: gateway.StateRated, Call: c})
				continue
			}
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateRated, Call: c, Charge: &gateway.Charge{Class: []string{"national", "international", "local"}[i%3],
				Destination: []string{"Austria", "United Kingdom", "", "Italy"}[i%4], Chargeable: i%7 != 0,
				CarrierMinor: int64(i % 13), TotalMinor: int64(10 + i), Currency: p.currency, TariffVersion: "base"}})
			if i%4 == 0 {
				l.Move(id, gatewaytest.ShipMove{To: gateway.StateQueued, Room: fmt.Sprint(100 + i%30)})
				if i%8 == 0 { // posted, or by hand after the PMS refused it
					l.Move(id, gatewaytest.ShipMove{To: gateway.StateSent, Posting: uint32(i)})
					if i%24 == 0 {
						l.Move(id, gatewaytest.ShipMove{To: gateway.StateRefused, Answer: "NG"})
						l.Move(id, gatewaytest.ShipMove{To: gateway.StatePostedByHand, Actor: "night", Reason: "posted on the folio by hand"})
					} else {
						l.Move(id, gatewaytest.ShipMove{To: gateway.StatePosted, Answer: "OK"})
					}
				}
			}
		}
		logs[p.name] = l
		ev := l.Events()
		for from := 0; from < len(ev); from += 1000 {
			if _, err := s.Apply(ctx, p.name, l.Batch(uint64(from+1), uint64(min(from+1000, len(ev))))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return logs
}
