package operacloud_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/operacloud"
	"callgate/pms/operacloud/sim"
)

// postLikeEngine plays the engine's rule for a lookup PMS until the
// posting is settled (docs/posting-safety.md): posted → done; transient →
// again; in doubt → look the reference up (asking again while the lookup
// fails): found → done, absent → send again with the same reference. It
// returns the outcome and how many lookups it took.
func postLikeEngine(ctx context.Context, t testing.TB, l *operacloud.Link, p gateway.PostRequest) (gateway.PostOutcome, int) {
	lookups := 0
	for tries := 0; tries < 50; tries++ {
		if err := l.WaitReady(ctx); err != nil {
			t.Fatalf("posting %s: %v", p.Reference, err)
		}
		if p.FirstSent.IsZero() {
			p.FirstSent = time.Now()
		}
		r, err := l.Post(ctx, p)
		switch r.Outcome {
		case gateway.PostPosted:
			return r.Outcome, lookups
		case gateway.PostTransient:
			continue
		case gateway.PostInDoubt:
		default:
			t.Fatalf("posting %s: %+v %v", p.Reference, r, err)
		}
		for {
			lookups++
			lr, err := l.Lookup(ctx, p)
			if err != nil {
				if ctx.Err() != nil || lookups > 100 {
					t.Fatalf("posting %s: lookup: %v", p.Reference, err)
				}
				continue
			}
			if lr.Found {
				return gateway.PostPosted, lookups
			}
			break // absent: send again, same reference
		}
	}
	t.Fatalf("posting %s never settled", p.Reference)
	return "", lookups
}

// TestFaults200: 200 postings where every fifth charge answer is lost
// (half after OPERA booked it, half before), with a 429 storm and a token
// expiry on the way: every charge is in the ledger exactly once, each
// reference once, none left in doubt.
func TestFaults200(t *testing.T) {
	s := startSim(t, sim.Options{RatePerS: 100})
	rooms := make([]string, 20)
	for i := range rooms {
		rooms[i] = fmt.Sprint(101 + i)
		s.CheckIn(rooms[i], "", "Guest")
	}
	s.SetChargeFault(func(n int) sim.Fault {
		switch {
		case n%10 == 5:
			return sim.Fault{Kind: sim.LoseAfter}
		case n%10 == 0:
			return sim.Fault{Kind: sim.LoseBefore}
		}
		return sim.Fault{}
	})
	o := fastOptions(t, s)
	o.Config.RatePerS = 100
	o.AnswerTimeout = 5 * time.Second
	l := openLink(t, o)
	drainEvents(l)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ready(t, l)

	want := map[string]int64{}
	lookups := 0
	for i := 1; i <= 200; i++ {
		switch i {
		case 60:
			s.Storm(3)
		case 120:
			s.ExpireTokens()
		}
		p := request(uint32(i), rooms[i%len(rooms)], fmt.Sprintf("CG-HOTEL1-%d", i))
		p.AmountMinor = int64(100 + i)
		want[p.Reference] = p.AmountMinor
		out, n := postLikeEngine(ctx, t, l, p)
		if out != gateway.PostPosted {
			t.Fatalf("posting %d: %s", i, out)
		}
		lookups += n
	}
	got := map[string]int{}
	for _, c := range s.Ledger() {
		got[c.Reference]++
		if want[c.Reference] != c.AmountMinor {
			t.Errorf("charge %+v: amount, want %d", c, want[c.Reference])
		}
	}
	for ref := range want {
		if got[ref] != 1 {
			t.Errorf("reference %s charged %d times", ref, got[ref])
		}
	}
	if len(s.Ledger()) != 200 {
		t.Errorf("%d charges in the ledger, want 200", len(s.Ledger()))
	}
	c := s.Counts()
	if c.Throttled < 3 || c.Unauthorized < 1 || c.Tokens < 2 {
		t.Errorf("the storm or the expiry did not happen: %+v", c)
	}
	if lookups < 40 {
		t.Errorf("only %d lookups for %d lost answers", lookups, s.Received()/5)
	}
	t.Logf("%d charge requests, %d lookups, %+v", s.Received(), lookups, c)
}

// BenchmarkPostings: postings a second through the link against the
// simulator. "ohip-limit" keeps OHIP's documented 50 requests a second
// (each posting is two requests: the room's stay, then the charge), the
// figure a hotel gets; "unlimited" lifts the limit on both sides to show
// what the link itself costs.
func BenchmarkPostings(b *testing.B) {
	for _, c := range []struct {
		name       string
		sim, link  int
		noThrottle bool
	}{
		{"ohip-limit", 50, 50, true},
		{"unlimited", -1, 1_000_000, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := startSim(b, sim.Options{RatePerS: c.sim})
			s.CheckIn("101", "", "Bench")
			o := fastOptions(b, s)
			o.Config.RatePerS = c.link
			o.Poll = time.Hour
			o.Logger = o.Logger.Level(1) // info and above
			l := openLink(b, o)
			drainEvents(l)
			ctx := ready(b, l)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if r, err := l.Post(ctx, request(uint32(i+1), "101", fmt.Sprintf("B-%d", i))); r.Outcome != gateway.PostPosted {
					b.Fatalf("%+v %v", r, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "postings/s")
			if n := s.Counts().Throttled; c.noThrottle && n != 0 {
				b.Errorf("%d requests throttled: the link exceeded the rate limit", n)
			}
		})
	}
}
