package mews_test

import (
	"context"
	"net/http"
	"testing"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/pms/mews/sim"
)

// TestPMSLinkContract holds the Mews link, against the simulator over
// HTTP on loopback, to the contract every PMS link keeps. Mews answers
// with HTTP statuses: 200 posts, 403 refuses, 429 is "not now" (FIAS RY);
// it has no night audit signal (FIAS NA, NS/NE).
func TestPMSLinkContract(t *testing.T) {
	gatewaytest.PMSLinkContract(t, func(t *testing.T) gatewaytest.PMSUnderTest {
		s := startSim(t, sim.Options{Currency: "USD", Digits: 2})
		if err := s.Occupy("101"); err != nil {
			t.Fatal(err)
		}
		o := fastOptions(t, s)
		o.AnswerTimeout = 500 * _ms
		l := openLink(t, o)
		// Opening reads the house as a resync; the suite starts after it.
		awaitKind(t, l, gateway.ResyncEnd)
		return gatewaytest.PMSUnderTest{
			Link: l,
			Answer: func(r gatewaytest.Reply) {
				switch {
				case r.Timeout:
					s.SetFaults(sim.Faults{Slow: 1, SlowFor: 5 * o.AnswerTimeout})
				case r.Silent:
					s.SetFaults(sim.Faults{Hold: 1})
				case r.Answer == "OK":
					s.SetFaults(sim.Faults{})
				case r.Answer == "RY":
					// The storm answers the resolve first; the posting's own
					// request must get the 429, so the storm starts after it.
					s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusTooManyRequests, FailMessage: "Too many requests."})
				default:
					s.SetFaults(sim.Faults{Fail: 1, FailStatus: http.StatusForbidden, FailMessage: r.Text})
				}
			},
			AwaitPostings: func(ctx context.Context, n int) bool {
				return s.WaitFor(ctx, func() bool { return s.Received() >= n }) == nil
			},
			CheckIn: func(room, res string) {
				if _, err := s.CheckIn(room, res); err != nil {
					t.Error(err)
				}
			},
			CheckOut: func(_, res string) {
				if err := s.CheckOut(res); err != nil {
					t.Error(err)
				}
			},
			HoldResync: func() { s.SetFaults(sim.Faults{HoldReads: true}) },
			Codes:      map[string]string{"OK": "200", "NG": "403", "RY": "429"},
		}
	})
}
