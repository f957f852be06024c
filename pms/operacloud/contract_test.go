package operacloud_test

import (
	"context"
	"testing"
	"time"

	"callgate/gateway/gatewaytest"
	"callgate/pms/operacloud/sim"
)

// TestPMSLinkContract holds the OPERA Cloud link, against the simulator
// over HTTP on loopback, to the contract of every PMS link. A refusal is
// played as an HTTP 400 whose o:errorCode is the contract's answer code;
// FIAS's RY and NA answers and the night audit have no OHIP counterpart.
func TestPMSLinkContract(t *testing.T) {
	gatewaytest.PMSLinkContract(t, func(t *testing.T) gatewaytest.PMSUnderTest {
		s := startSim(t, sim.Options{})
		s.CheckIn("101", "", "Contract")
		o := fastOptions(t, s)
		o.AnswerTimeout = 500 * time.Millisecond
		l := openLink(t, o)
		// The first read of the house is a resync bracket (TestGuestEvents
		// checks it); the contract's events are those after it.
		ready(t, l)
		for len(l.GuestEvents()) > 0 {
			<-l.GuestEvents()
		}
		noFIAS := "OHIP has no FIAS answer codes RY/NA: a 429 is covered by TestThrottled"
		return gatewaytest.PMSUnderTest{
			Link: l,
			Answer: func(r gatewaytest.Reply) {
				switch {
				case r.Timeout:
					s.Fail(sim.Fault{Kind: sim.Slow, Delay: 10 * time.Second})
				case r.Silent:
					s.Fail(sim.Fault{Kind: sim.Hold})
				case r.Answer != "OK":
					s.Fail(sim.Fault{Kind: sim.Status, Status: 400, Code: r.Answer, Detail: r.Text})
				}
			},
			AwaitPostings: func(ctx context.Context, n int) bool {
				return s.WaitFor(ctx, func() bool { return s.Received() >= n }) == nil
			},
			CheckIn:    func(room, res string) { s.CheckIn(room, res, "Contract") },
			CheckOut:   func(_, res string) { s.CheckOut(res) },
			HoldResync: s.HoldReservations,
			Unsupported: map[string]string{
				"transient RY": noFIAS, "transient NA": noFIAS,
				"night audit": "OHIP gives no night-audit signal to a polling client",
				// OHIP's transactions are searched by reservation: for a
				// reference this link never sent it cannot tell which stays
				// to search, so an absence is not proof and Lookup answers
				// transient (docs/pms-operacloud.md, "Lookup").
				"lookup of a reference never sent finds nothing": "an absence OHIP cannot prove without the reservation the posting went to",
			},
		}
	})
}
