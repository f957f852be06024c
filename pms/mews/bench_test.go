package mews_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/mews/sim"
	"github.com/rs/zerolog"
)

// BenchmarkPostings posts calls one after the other (as the engine does)
// to the simulator over loopback HTTP; each posting is two requests (the
// stay resolved again, then orders/add).
//
//   - unlimited: no rate limit on either side; the adapter's own cost.
//   - mews-limit-scaled: Mews's limit of 200 requests per 30 s with the
//     window scaled down 100 times (200 per 300 ms), on both sides, so
//     that a run takes seconds; postings/s@200per30s scales the measured
//     rate back to Mews's real window. It shows the client-side limiter
//     reaching the limit without a 429.
//
// cpu-ms/op is the process's CPU time (link and simulator) per posting.
func BenchmarkPostings(b *testing.B) {
	for _, bc := range []struct {
		name   string
		limit  int
		window time.Duration
		scale  float64
	}{
		{"unlimited", 100000, time.Second, 0},
		{"mews-limit-scaled", 200, 300 * time.Millisecond, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := startSim(b, sim.Options{RateLimit: bc.limit, RateWindow: bc.window})
			if err := s.Occupy("101", "102", "103", "104"); err != nil {
				b.Fatal(err)
			}
			o := fastOptions(b, s)
			o.Logger = zerolog.Nop()
			o.PollInterval = time.Hour
			o.Config.RateLimit.Requests = bc.limit
			o.RateWindow = bc.window
			l := openLink(b, o)
			drainEvents(l)
			ready(b, l)
			ctx := context.Background()
			rooms := []string{"101", "102", "103", "104"}
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := l.Post(ctx, request(uint32(i+1), rooms[i%4], "local", 100))
				if res.Outcome != gateway.PostPosted {
					b.Fatalf("posting %d: %+v %v", i+1, res, err)
				}
			}
			b.StopTimer()
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "postings/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			if bc.scale > 0 {
				b.ReportMetric(rate/bc.scale, "postings/s@200per30s")
			}
			if n := s.Received(); n < b.N {
				b.Fatalf("%d orders for %d postings", n, b.N)
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
