package fias_test

import (
	"context"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/pms/fias/sim"
)

// TestPMSLinkContract holds the FIAS link, against the simulator over TCP,
// to the contract the fake link of gatewaytest keeps too, so that the fake
// cannot drift.
func TestPMSLinkContract(t *testing.T) {
	gatewaytest.PMSLinkContract(t, func(t *testing.T) gatewaytest.PMSUnderTest {
		s := startSim(t, sim.Options{})
		s.Occupy([]string{"101"})
		o := fastOptions(t)
		o.Address = s.Addr()
		o.ResyncTimeout = time.Minute // a resync held by the PMS runs until the test ends
		l := openLink(t, o)
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
					s.SetFaults(sim.Faults{NoPA: 1})
				case r.Answer == "OK":
					s.SetFaults(sim.Faults{})
				default:
					s.SetFaults(sim.Faults{Answers: []string{r.Answer}})
				}
			},
			AwaitPostings: func(ctx context.Context, n int) bool {
				return s.WaitFor(ctx, func() bool { return len(s.Received()) >= n }) == nil
			},
			CheckIn: func(room, res string) {
				_, err := s.CheckIn(gateway.Guest{Room: room, Reservation: res, LastName: "Contract"})
				fail(err)
			},
			CheckOut:   func(_, res string) { fail(s.CheckOut(res)) },
			NightAudit: func(on bool) { fail(s.NightAudit(on)) },
			HoldResync: func() { s.SetFaults(sim.Faults{IgnoreDR: true}) },
		}
	})
}
