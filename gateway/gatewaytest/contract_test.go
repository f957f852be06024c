package gatewaytest_test

import (
	"context"
	"testing"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

func TestJournalContract(t *testing.T) {
	gatewaytest.JournalContract(t, func(t *testing.T, o gatewaytest.JournalOptions) gatewaytest.JournalUnderTest {
		return gatewaytest.NewJournal(o)
	})
}

func TestPMSLinkContract(t *testing.T) {
	for _, c := range []gateway.PostCapability{gateway.CapabilityBlind, gateway.CapabilityLookup, gateway.CapabilityIdempotent} {
		t.Run(string(c), func(t *testing.T) {
			gatewaytest.PMSLinkContract(t, func(t *testing.T) gatewaytest.PMSUnderTest {
				l := gatewaytest.NewPMSLink(nil)
				l.SetCapability(c)
				t.Cleanup(func() { l.Close() })
				guest := func(k gateway.GuestEventKind, room, res string) {
					l.Guest(gateway.GuestEvent{Kind: k, Guest: gateway.Guest{Room: room, Reservation: res}})
				}
				return gatewaytest.PMSUnderTest{
					Link:   l,
					Answer: func(r gatewaytest.Reply) { l.Answer(r) },
					AwaitPostings: func(ctx context.Context, n int) bool {
						return l.Await(ctx, func() bool { return len(l.Posted()) >= n })
					},
					CheckIn:  func(room, res string) { guest(gateway.GuestCheckIn, room, res) },
					CheckOut: func(room, res string) { guest(gateway.GuestCheckOut, room, res) },
					NightAudit: func(on bool) {
						if on {
							guest(gateway.NightAuditStart, "", "")
						} else {
							guest(gateway.NightAuditEnd, "", "")
						}
					},
					HoldResync: func() {}, // the fake PMS answers a resync only when the test plays it
					Charges:    func(_ context.Context, ref string) int { return l.Charges(ref) },
				}
			})
		})
	}
}

func TestCallSourceContract(t *testing.T) {
	gatewaytest.CallSourceContract(t, func(t *testing.T, lines []string) gateway.CallSource {
		s := gatewaytest.NewCallSource(nil)
		for _, l := range lines {
			s.Line(l)
		}
		s.End()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestCentralContract(t *testing.T) {
	gatewaytest.CentralContract(t, func(t *testing.T) gatewaytest.CentralUnderTest {
		c := gatewaytest.NewCentral()
		c.AddProperty("grand", "tok")
		return gatewaytest.CentralUnderTest{Applier: c, Property: "grand", Held: func(e string) int { return len(c.Events("grand", e)) }}
	})
}
