package fias_test

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

// rig is a link connected to a simulator over one transport.
type rig struct {
	s      *sim.Sim
	l      *fias.Link
	tr     *testutil.Buffer
	answer time.Duration // the link's answer timeout
}

// serialAnswer is the answer timeout over the pty: a PA there goes
// through the FIPS layer, slower under -race on a loaded machine.
const serialAnswer = 2 * time.Second

type transport struct {
	name string
	open func(t *testing.T) rig
}

var transports = []transport{
	{"tcp", func(t *testing.T) rig {
		s := startSim(t, sim.Options{})
		tr := &testutil.Buffer{}
		l := connect(t, s, func(o *fias.Options) { o.Transcript = tr })
		return rig{s, l, tr, answerTimeout}
	}},
	{"serial", func(t *testing.T) rig {
		tr := &testutil.Buffer{}
		l, master := serialLink(t, func(o *fias.Options) { o.Transcript = tr; o.AnswerTimeout = serialAnswer })
		s, err := sim.New(sim.Options{Rooms: sim.Range(101, 120), AckTimeout: ackTimeout, AnswerWindow: serialAnswer,
			Logger: testLog(t).With().Str("side", "sim").Logger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.ServeSerial(master)
		waitReady(t, l)
		return rig{s, l, tr, serialAnswer}
	}},
}

// TestFaults runs every fault the simulator injects against the link, over
// TCP and over a pty in serial mode: each must end as docs/fias.md says, with
// no posting charged twice and no rule broken.
func TestFaults(t *testing.T) {
	for _, tp := range transports {
		t.Run(tp.name, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				faults sim.Faults
				before func(r rig)
				want   gateway.PostOutcome
				booked int
			}{
				{"delayed PA", sim.Faults{PADelay: -1}, nil, gateway.PostInDoubt, 1},
				{"no PA", sim.Faults{NoPA: 1}, nil, gateway.PostInDoubt, 1},
				{"link lost after booking", sim.Faults{CutAfterBooking: 1}, nil, gateway.PostInDoubt, 1},
				{"RY", sim.Faults{Answers: []string{"RY"}}, nil, gateway.PostTransient, 0},
				{"NA", sim.Faults{Answers: []string{"NA"}}, nil, gateway.PostTransient, 0},
				{"night audit window", sim.Faults{}, func(r rig) {
					r.s.NightAudit(true)
					waitStatus(t, r.l, "night audit", func(st gateway.LinkStatus) bool { return st.NightAudit })
				}, gateway.PostTransient, 0},
				{"LS mid-session", sim.Faults{}, func(r rig) {
					r.s.SendLS()
					waitSim(t, r.s, "re-description", func() bool { return r.s.AliveCount() == 2 })
					waitReady(t, r.l)
				}, gateway.PostPosted, 1},
				{"split frames", sim.Faults{Split: true}, nil, gateway.PostPosted, 1},
				{"coalesced frames", sim.Faults{Coalesce: true}, nil, gateway.PostPosted, 1},
				{"garbage between frames", sim.Faults{Garbage: true}, nil, gateway.PostPosted, 1},
				{"stray answers", sim.Faults{StrayPAs: true}, nil, gateway.PostPosted, 1},
				{"shuffled fields", sim.Faults{Shuffle: true}, nil, gateway.PostPosted, 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := tp.open(t)
					r.s.CheckIn(gateway.Guest{Room: "101"})
					nextEvent(t, r.l)
					if tc.before != nil {
						tc.before(r)
					}
					if tc.faults.PADelay < 0 {
						tc.faults.PADelay = 2 * r.answer
					}
					r.s.SetFaults(tc.faults)
					res, err := post(t, r.l, charge(1, "101"))
					if res.Outcome != tc.want {
						t.Fatalf("%+v %v\n%s", res, err, r.tr.String())
					}
					if tc.want == gateway.PostInDoubt && !strings.Contains(err.Error(), "in doubt") {
						t.Errorf("error %v", err)
					}
					if n := len(r.s.Ledger()); n != tc.booked {
						t.Errorf("%d bookings, want %d", n, tc.booked)
					}
					// Nothing is ever sent twice by the link itself: once the
					// link is back (over TCP it reconnects), the next posting
					// goes and the first one does not.
					if !(tp.name == "serial" && tc.faults.CutAfterBooking > 0) {
						r.s.SetFaults(sim.Faults{})
						if tc.name == "night audit window" {
							r.s.NightAudit(false)
						}
						if tc.faults.CutAfterBooking > 0 {
							// The link may still show the old connection as
							// ready for a moment: wait for the new one.
							waitSim(t, r.s, "reconnection", func() bool { return r.s.AliveCount() >= 2 })
						}
						waitReady(t, r.l)
						if res, err := post(t, r.l, charge(2, "101")); res.Outcome != gateway.PostPosted {
							t.Fatalf("next posting: %+v %v", res, err)
						}
					}
					if n := countReceived(r.s, "1"); n > 1 {
						t.Errorf("posting 1 reached the PMS %d times", n)
					}
					noViolations(t, r.s)
				})
			}
		})
	}
}
