//go:build unix

package apaleo_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/pms/apaleo/sim"
)

// BenchmarkPostings: postings per second one link sustains against the
// simulator over loopback HTTP, each posting being three requests (the
// room's in-house reservation, its guest folios, the charge), at the
// default client-side rate (5 requests/s), at the highest rate the config
// allows (50), and unthrottled (the link's own cost). cpu-µs/op is the
// process's user+system CPU per posting, the simulator's included: the
// machine is shared, wall time is noisy.
func BenchmarkPostings(b *testing.B) {
	for _, rate := range []int{apaleo.DefaultRequestsPerS, 50, 1e6} {
		name := fmt.Sprintf("rate=%d", rate)
		if rate == 1e6 {
			name = "rate=unlimited"
		}
		b.Run(name, func(b *testing.B) {
			rooms := []string{"101", "102", "103", "104"}
			s := startSim(b, sim.Options{Rooms: rooms, Occupied: rooms})
			o := fastOptions(s)
			o.Config.RequestsPerS = rate
			o.PollInterval = time.Hour
			l := openLink(b, o)
			awaitResync(b, l)
			ctx := testCtx(b, 10*time.Minute)
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				res, err := l.Post(ctx, posting(uint32(i+1), rooms[i%len(rooms)]))
				if res.Outcome != gateway.PostPosted {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "postings/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
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
