package postgres_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
)

// TestTrafficHandFolded: one trunk call folded by hand — it starts at
// 10:59:50, rings 5 s and talks 7,300 s: it counts in hour 10, and its
// seconds are 5 in hour 10, 3,600 in 11 and 12, 95 in 13; an internal call
// and a call of another property count nowhere; a call running past the
// period's end is clipped.
func TestTrafficHandFolded(t *testing.T) {
	s, _ := open(t)
	ctx := testCtx(t)
	if _, err := s.AddProperty(ctx, "beach"); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	calls := []struct {
		property string
		at       time.Duration
		ring     *int
		dur      int
		dir      gateway.Direction
	}{
		{"grand", 10*time.Hour + 59*time.Minute + 50*time.Second, gateway.Int(5), 7300, gateway.Outgoing},
		{"grand", 11 * time.Hour, nil, 600, gateway.Internal},
		{"beach", 11 * time.Hour, nil, 600, gateway.Incoming},
		{"grand", 23*time.Hour + 50*time.Minute, gateway.Int(0), 1200, gateway.Incoming},
	}
	logs := map[string]*gatewaytest.ShipLog{"grand": gatewaytest.NewShipLog("e1", day, time.UTC), "beach": gatewaytest.NewShipLog("e2", day, time.UTC)}
	for i, c := range calls {
		l := logs[c.property]
		id := l.Capture(fmt.Sprint("call ", i))
		start := day.Add(c.at)
		l.Move(id, gatewaytest.ShipMove{To: gateway.StateRated, Call: &gateway.Call{Format: "test", Extension: "201", Start: start, StartUTC: start,
			DurationS: c.dur, Direction: c.dir, RingS: c.ring}})
	}
	for p, l := range logs {
		if _, err := s.Apply(ctx, p, l.Batch(1, uint64(len(l.Events())))); err != nil {
			t.Fatal(err)
		}
	}
	ht, err := s.Traffic(ctx, []string{"grand"}, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls, wantSecs := make([]int64, 24), make([]int64, 24)
	wantCalls[10], wantCalls[23] = 1, 1
	wantSecs[10], wantSecs[11], wantSecs[12], wantSecs[13], wantSecs[23] = 5, 3600, 3600, 95, 600
	if fmt.Sprint(ht.Calls) != fmt.Sprint(wantCalls) || fmt.Sprint(ht.Secs) != fmt.Sprint(wantSecs) {
		t.Errorf("grand's traffic:\ncalls %v\nsecs  %v\nwant\ncalls %v\nsecs  %v", ht.Calls, ht.Secs, wantCalls, wantSecs)
	}
	all, err := s.Traffic(ctx, nil, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if all.Calls[11] != 1 || all.Secs[11] != 3600+600 {
		t.Errorf("every property's hour 11: %d calls, %d s; want 1, 4200", all.Calls[11], all.Secs[11])
	}
	if _, err := s.Traffic(ctx, nil, day, day); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("an empty period: %v", err)
	}
}

var busyHourCalls = flag.Int("busyhour", 0, "BenchmarkBusyHourMonth: calls loaded over 100 properties (e.g. 10000000); 0 skips it")

// loadMonth COPYs calls synthetic projected call_state rows (the columns
// Apply writes, with the call's and the charge's JSON) spread over 100
// properties and the month of November 2026 straight into the table, then
// VACUUM ANALYZEs it as autovacuum would. Trunk calls are 95 % (in and
// out), durations mostly short, some over an hour, ring times up to 30 s.
func loadMonth(tb testing.TB, s *postgres.Store, calls int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	const props = 100
	// One tiny log makes the partitions of November and December.
	l := gatewaytest.NewShipLog("parts", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	l.Capture("november")
	l.Tick(31 * 24 * time.Hour)
	l.Capture("december")
	if _, err := s.Apply(ctx, "grand", l.Batch(1, 2)); err != nil {
		tb.Fatal(err)
	}
	for p := 0; p < props; p++ {
		if _, err := s.AddProperty(ctx, fmt.Sprintf("p%03d", p)); err != nil {
			tb.Fatal(err)
		}
	}
	names := make([]string, props)
	for p := range names {
		names[p] = fmt.Sprintf("p%03d", p)
	}
	per := calls / props
	start := time.Now()
	if err := pgtest.LoadCalls(ctx, s.Pool(), names, per, pgtest.CallsOptions{LongEvery: 997}); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded %d calls over %d properties: COPY and VACUUM ANALYZE %s (%.0f rows/s)", per*props, props,
		time.Since(start).Round(time.Millisecond), float64(per*props)/time.Since(start).Seconds())
}

// TestBusyHourMonth (opt-in: -busyhour N) loads 100 properties × N/100
// calls of one month (loadMonth), then measures with testing.Benchmark the
// SQL fold of the month's trunk traffic over every property, the busy-hour
// and busy-days reports' input at the central; goal for 10,000,000 calls
// ≤ 3 s (docs/chain-console.md, "Figures"). It logs the query's plan, and
// the time the in-Go path takes to read one property's month of entries,
// for comparison.
func TestBusyHourMonth(t *testing.T) {
	if *busyHourCalls == 0 {
		t.Skip("opt-in: go test ./store/postgres -run TestBusyHourMonth -v -busyhour 10000000")
	}
	s, _ := open(t)
	loadMonth(t, s, *busyHourCalls)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, postgres.TrafficSettings); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+postgres.TrafficSQL, nil, from.Unix()/3600, to.Unix()/3600)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	t0 := time.Now()
	es, err := s.Entries(ctx, []string{"p000"}, from, to, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the in-Go path's read of one property's month: %d entries in %s", len(es), time.Since(t0).Round(time.Millisecond))
	var n int64
	var ferr error
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ht, err := s.Traffic(ctx, nil, from, to)
			if err != nil {
				ferr = err
				return
			}
			n = 0
			for _, c := range ht.Calls {
				n += c
			}
		}
	})
	if ferr != nil {
		t.Fatal(ferr)
	}
	t.Logf("busy-hour traffic of a month, %d calls over 100 properties: %s %s (%v per fold), %d trunk calls", *busyHourCalls, r, r.MemString(), time.Duration(r.NsPerOp()), n)
	if n < int64(*busyHourCalls)*9/10 {
		t.Fatalf("%d trunk calls folded of %d loaded", n, *busyHourCalls)
	}
	// Five more folds, one after the other: the spread on a shared machine.
	var times []string
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		if _, err := s.Traffic(ctx, nil, from, to); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(t0).Round(time.Millisecond).String())
	}
	t.Logf("five more folds: %s", strings.Join(times, ", "))
	// The by-key reports' sums over the same month (a scan of the rows).
	for _, key := range []string{"room", "class"} {
		t0 := time.Now()
		sums, err := s.Sums(ctx, nil, key, from, to)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sums by %s of the month over every property: %d groups in %s", key, len(sums), time.Since(t0).Round(time.Millisecond))
	}
}
