package apaleo_test

import (
	"context"
	"testing"

	"callgate/gateway/gatewaytest"
	"callgate/pms/apaleo/sim"
)

// TestPMSLinkContract holds the apaleo link, against the simulator over
// HTTP on loopback, to the contract every PMS link keeps. apaleo answers
// with HTTP statuses (201 booked, 422 refused, 429 not now) and has no
// night audit on its API.
func TestPMSLinkContract(t *testing.T) {
	gatewaytest.PMSLinkContract(t, func(t *testing.T) gatewaytest.PMSUnderTest {
		s := startSim(t, sim.Options{Currency: "USD", Occupied: []string{"101"}})
		l := openLink(t, fastOptions(s))
		awaitResync(t, l) // the first reading of the house is a resync: 101's check-in
		fail := func(err error) {
			if err != nil {
				t.Error(err)
			}
		}
		return gatewaytest.PMSUnderTest{
			Link: l,
			Answer: func(r gatewaytest.Reply) {
				switch {
				case r.Timeout || r.Silent:
					s.SetFaults(sim.Faults{Hold: true})
				case r.Answer == "OK":
					s.SetFaults(sim.Faults{})
				case r.Answer == "RY":
					s.SetFaults(sim.Faults{Status: 429})
				default:
					s.SetFaults(sim.Faults{Status: 422, Messages: []string{r.Text}})
				}
			},
			AwaitPostings: func(ctx context.Context, n int) bool {
				return s.WaitFor(ctx, func() bool { return s.ChargeRequests() >= n }) == nil
			},
			CheckIn:    func(room, res string) { fail(s.CheckIn(room, res, "Contract")) },
			CheckOut:   func(_, res string) { fail(s.CheckOut(res)) },
			HoldResync: func() { s.SetFaults(sim.Faults{HoldListings: true}) },
			Codes:      map[string]string{"OK": "201", "NG": "422", "RY": "429"},
		}
	})
}
