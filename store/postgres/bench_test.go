package postgres_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"callgate/gateway/gatewaytest"
)

// postedLog writes calls posted calls (5 events each), every one to its
// own room.
func postedLog(epoch string, calls int) *gatewaytest.ShipLog {
	l := gatewaytest.NewShipLog(epoch, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), vienna)
	for i := 0; i < calls; i++ {
		l.PostedCall(i, fmt.Sprint(100+i%400), int64(100+i%900))
	}
	return l
}

// BenchmarkApply5000 applies batches of 5,000 events (1,000 posted calls)
// over loopback, as the central does; goal ≥ 50,000 events/s
// (docs/central.md, "Figures").
func BenchmarkApply5000(b *testing.B) {
	s, _ := open(b)
	const size = 5000
	l := postedLog("bench", b.N*size/5)
	ctx := testCtx(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		from := uint64(i*size + 1)
		if _, err := s.Apply(ctx, "grand", l.Batch(from, from+size-1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}

var catchUp = flag.Int("catchup", 0, "TestCatchUp: events a property catches up (e.g. 1000000); 0 skips it")

// TestCatchUp (opt-in: -catchup N) applies N events in batches of 5,000,
// as a property does catching up after a week offline; goal for 1,000,000
// events ≤ 60 s. It logs the time.
func TestCatchUp(t *testing.T) {
	if *catchUp == 0 {
		t.Skip("opt-in: go test ./store/postgres -run TestCatchUp -catchup 1000000 -v")
	}
	s, _ := open(t)
	l := postedLog("catchup", *catchUp/5)
	n := uint64(len(l.Events()))
	ctx := testCtx(t)
	start := time.Now()
	for from := uint64(1); from <= n; from += 5000 {
		if _, err := s.Apply(ctx, "grand", l.Batch(from, min(from+4999, n))); err != nil {
			t.Fatal(err)
		}
	}
	d := time.Since(start)
	t.Logf("caught up %d events in %s: %.0f events/s", n, d.Round(time.Millisecond), float64(n)/d.Seconds())
	if got := count(t, s, "SELECT count(*) FROM callgate.event"); got != int(n) {
		t.Fatalf("%d events held, want %d", got, n)
	}
}
