package fias_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

// The tests run the real link against the simulator on 127.0.0.1, with
// timeouts shortened through options. Waits are bounded; nothing asserts
// on how fast something happens.

// answerTimeout is short enough for the in-doubt tests and long enough that a
// loaded CI machine (the race detector, other packages testing alongside)
// answers every posting that is meant to be answered.
const answerTimeout = 1500 * time.Millisecond

func testLog(t *testing.T) zerolog.Logger { return testutil.Logger(t, nil) }

func startSim(t *testing.T, o sim.Options) *sim.Sim {
	t.Helper()
	if o.Rooms == nil {
		o.Rooms = sim.Range(101, 120)
	}
	if o.AnswerWindow == 0 {
		o.AnswerWindow = answerTimeout
	}
	o.Logger = testLog(t).With().Str("side", "sim").Logger()
	s, err := sim.Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func minorDigits(c string) (int, bool) {
	switch c {
	case "USD", "EUR", "GBP":
		return 2, true
	case "JPY":
		return 0, true
	case "KWD":
		return 3, true
	}
	return 0, false
}

// fastOptions are production options with every wait shortened.
func fastOptions(t *testing.T) fias.Options {
	return fias.Options{
		AmountExponent: 2,
		MinorDigits:    minorDigits,
		AnswerTimeout:  answerTimeout,
		LinkTimeout:    2 * time.Second,
		ListenWait:     300 * time.Millisecond,
		AliveInterval:  time.Hour,
		LEWait:         300 * time.Millisecond,
		DescribeEvery:  200 * time.Millisecond,
		ResyncTimeout:  time.Second,
		MinBackoff:     20 * time.Millisecond,
		MaxBackoff:     200 * time.Millisecond,
		DialTimeout:    2 * time.Second,
		Logger:         testLog(t).With().Str("side", "gateway").Logger(),
	}
}

func openLink(t *testing.T, o fias.Options) *fias.Link {
	t.Helper()
	l, err := fias.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func connect(t *testing.T, s *sim.Sim, mod func(*fias.Options)) *fias.Link {
	t.Helper()
	o := fastOptions(t)
	o.Address = s.Addr()
	if mod != nil {
		mod(&o)
	}
	l := openLink(t, o)
	waitReady(t, l)
	return l
}

func waitReady(t *testing.T, l *fias.Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.WaitReady(ctx); err != nil {
		t.Fatalf("link not ready: %v (status %+v)", err, l.Status())
	}
}

func waitSim(t *testing.T, s *sim.Sim, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func waitStatus(t *testing.T, l *fias.Link, what string, cond func(gateway.LinkStatus) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond(l.Status()) {
		select {
		case <-deadline:
			t.Fatalf("waiting for %s: status %+v", what, l.Status())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func charge(n uint32, room string) gateway.PostRequest {
	return gateway.PostRequest{
		Number: n, Room: room, AmountMinor: 1250, Currency: "USD",
		Start:     time.Date(2025, 3, 1, 9, 30, 12, 0, time.UTC),
		DurationS: 252, Dialed: "+44 (20) 7123-4567", Class: "international", Trunk: "3",
		Destination: "London",
	}
}

func post(t *testing.T, l *fias.Link, p gateway.PostRequest) (gateway.PostResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.Post(ctx, p)
}

func nextEvent(t *testing.T, l *fias.Link) gateway.GuestEvent {
	t.Helper()
	select {
	case ev, ok := <-l.GuestEvents():
		if !ok {
			t.Fatal("guest events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no guest event")
	}
	panic("unreachable")
}

func noViolations(t *testing.T, s *sim.Sim) {
	t.Helper()
	for _, v := range s.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// TestPostOK: the handshake, a posting booked once, its PS exactly as
// docs/fias.md, "Postings: PS and PA", writes it, and the transcript.
func TestPostOK(t *testing.T) {
	s := startSim(t, sim.Options{})
	if _, err := s.CheckIn(gateway.Guest{Room: "101", LastName: "Hartley"}); err != nil {
		t.Fatal(err)
	}
	var tr testutil.Buffer
	l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr; o.SalesOutlet = "1" })
	ev := nextEvent(t, l)
	if ev.Kind != gateway.GuestCheckIn || ev.Guest.Room != "101" || ev.Guest.LastName != "Hartley" {
		t.Errorf("event %+v", ev)
	}
	res, err := post(t, l, charge(1001, "101"))
	if err != nil || res.Outcome != gateway.PostPosted || res.Answer != "OK" || !res.Sent {
		t.Fatalf("post: %+v %v", res, err)
	}
	ledger := s.Ledger()
	if len(ledger) != 1 || ledger[0].Number != "1001" || ledger[0].Amount != "1250" {
		t.Fatalf("ledger %+v", ledger)
	}
	const want = "PS|RN101|PTC|TA1250|DA250301|TI093012|DU000412|DD442071234567|PCI|PX3|SO1|P#1001|CTLondon|"
	if ledger[0].Record != want {
		t.Errorf("PS\n got %s\nwant %s", ledger[0].Record, want)
	}
	noViolations(t, s)
	l.Close()
	text := tr.String()
	for _, w := range []string{"← LS|", "→ LD|", "→ LR|RIPS|FLRNPTTADATIDUDDPCPXSOP#CT|", "→ LA|", "← LA|", "→ " + want, "← PA|RN101|ASOK|P#1001|", "→ LE|"} {
		if !strings.Contains(text, w) {
			t.Errorf("transcript lacks %q:\n%s", w, text)
		}
	}
}

// TestAnswers: every answer class of docs/fias.md, "Postings: PS and PA".
func TestAnswers(t *testing.T) {
	s := startSim(t, sim.Options{})
	res, _ := s.CheckIn(gateway.Guest{Room: "101", LastName: "A"})
	s.CheckIn(gateway.Guest{Room: "102", LastName: "B", NoPost: true})
	l := connect(t, s, nil)
	_ = res
	for i, tc := range []struct {
		room    string
		script  string
		outcome gateway.PostOutcome
		as      string
		kind    gateway.Kind
	}{
		{"101", "", gateway.PostPosted, "OK", 0},
		{"103", "", gateway.PostRefused, "NG", gateway.KindRejected}, // vacant
		{"999", "", gateway.PostRefused, "NG", gateway.KindRejected}, // no such room
		{"102", "", gateway.PostRefused, "NP", gateway.KindRejected}, // no-post
		{"101", "RY", gateway.PostTransient, "RY", gateway.KindTransient},
		{"101", "NA", gateway.PostTransient, "NA", gateway.KindTransient},
		{"101", "UR", gateway.PostRefused, "UR", gateway.KindRejected},
		{"101", "IA", gateway.PostRefused, "IA", gateway.KindRejected},
		{"101", "FX", gateway.PostRefused, "FX", gateway.KindRejected},
		{"101", "DN", gateway.PostRefused, "DN", gateway.KindRejected},
		{"101", "ZZ", gateway.PostRefused, "ZZ", gateway.KindRejected},
	} {
		t.Run(tc.room+"/"+tc.script, func(t *testing.T) {
			if tc.script != "" {
				s.SetFaults(sim.Faults{Answers: []string{tc.script}})
			}
			r, err := post(t, l, charge(uint32(2000+i), tc.room))
			if r.Outcome != tc.outcome || r.Answer != tc.as || !r.Sent {
				t.Errorf("%s/%s: %+v %v", tc.room, tc.script, r, err)
				return
			}
			if tc.outcome == gateway.PostPosted {
				if err != nil {
					t.Errorf("posted with error %v", err)
				}
				return
			}
			if gateway.KindOf(err) != tc.kind {
				t.Errorf("%s/%s: error kind %v (%v)", tc.room, tc.script, gateway.KindOf(err), err)
			}
			if tc.outcome == gateway.PostRefused && (r.Text == "" || !strings.Contains(err.Error(), r.Text)) {
				t.Errorf("%s/%s: refusal without the PMS's text: %+v %v", tc.room, tc.script, r, err)
			}
		})
	}
	if n := len(s.Ledger()); n != 1 {
		t.Errorf("ledger has %d bookings, want 1", n)
	}
	noViolations(t, s)
}

// TestInvalidRequests: what cannot be written as a PS is refused before
// anything is sent.
func TestInvalidRequests(t *testing.T) {
	s := startSim(t, sim.Options{})
	l := connect(t, s, nil)
	for name, mod := range map[string]func(*gateway.PostRequest){
		"number 0":       func(p *gateway.PostRequest) { p.Number = 0 },
		"number 9 digit": func(p *gateway.PostRequest) { p.Number = 100000000 },
		"room bar":       func(p *gateway.PostRequest) { p.Room = "1|01" },
		"room empty":     func(p *gateway.PostRequest) { p.Room = "" },
		"no start":       func(p *gateway.PostRequest) { p.Start = time.Time{} },
		"currency":       func(p *gateway.PostRequest) { p.Currency = "XXX" },
		"kwd decimals":   func(p *gateway.PostRequest) { p.Currency, p.AmountMinor = "KWD", 1255 },
		"huge":           func(p *gateway.PostRequest) { p.AmountMinor = 1 << 62 },
		"duration":       func(p *gateway.PostRequest) { p.DurationS = 100 * 3600 },
	} {
		t.Run(name, func(t *testing.T) {
			p := charge(7, "101")
			mod(&p)
			r, err := post(t, l, p)
			if r.Outcome != gateway.PostInvalid || r.Sent || gateway.KindOf(err) != gateway.KindInvalid {
				t.Errorf("%s: %+v %v", name, r, err)
			}
		})
	}
	if n := len(s.Received()); n != 0 {
		t.Errorf("%d postings reached the PMS", n)
	}
}

// TestAmountExponent: TA scaled from the currency's minor units to the
// PMS's implied decimals.
func TestAmountExponent(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	for _, tc := range []struct {
		exp      int
		currency string
		amount   int64
		ta       string
	}{
		{2, "USD", 1250, "1250"},
		{2, "JPY", 1000, "100000"},
		{3, "KWD", 1255, "1255"},
		{3, "USD", 1250, "12500"},
		{0, "JPY", 1000, "1000"},
		{2, "KWD", 1250, "125"},
	} {
		t.Run(fmt.Sprintf("%d %s %d", tc.exp, tc.currency, tc.amount), func(t *testing.T) {
			l := connect(t, s, func(o *fias.Options) { o.AmountExponent = tc.exp })
			p := charge(uint32(len(s.Received())+1), "101")
			p.Currency, p.AmountMinor = tc.currency, tc.amount
			if r, err := post(t, l, p); r.Outcome != gateway.PostPosted {
				t.Fatalf("%+v: %+v %v", tc, r, err)
			}
			ledger := s.Ledger()
			if got := ledger[len(ledger)-1].Amount; got != tc.ta {
				t.Errorf("%d %s %d: TA %s, want %s", tc.exp, tc.currency, tc.amount, got, tc.ta)
			}
			l.Close()
		})
	}
}

// TestInDoubtTimeout: no PA within the answer timeout → in doubt, never
// sent again; the late PA is ignored; the next posting goes normally.
func TestInDoubtTimeout(t *testing.T) {
	for _, fault := range []string{"no PA", "delayed PA"} {
		t.Run(fault, func(t *testing.T) {
			s := startSim(t, sim.Options{})
			s.CheckIn(gateway.Guest{Room: "101"})
			var tr testutil.Buffer
			l := connect(t, s, func(o *fias.Options) { o.Transcript = &tr })
			if fault == "no PA" {
				s.SetFaults(sim.Faults{NoPA: 1})
			} else {
				s.SetFaults(sim.Faults{PADelay: 3 * answerTimeout})
			}
			r, err := post(t, l, charge(10, "101"))
			if r.Outcome != gateway.PostInDoubt || !r.Sent || !errors.Is(err, gateway.ErrInDoubt) || gateway.IsTransient(err) {
				t.Fatalf("%+v %v", r, err)
			}
			if fault == "delayed PA" {
				// The late answer arrives and is ignored.
				waitSim(t, s, "the late PA", func() bool { return len(s.Ledger()) == 1 })
				tr.Wait(t, "the late PA read by the link", func(s string) bool {
					return slices.ContainsFunc(strings.Split(s, "\n"), func(l string) bool {
						return strings.Contains(l, "← PA|") && strings.Contains(l, "|P#10|")
					})
				})
			}
			s.SetFaults(sim.Faults{})
			r, err = post(t, l, charge(11, "101"))
			if r.Outcome != gateway.PostPosted {
				t.Fatalf("next posting: %+v %v", r, err)
			}
			for _, p := range s.Received() {
				if p.Number == "10" && p.Record == "" {
					t.Error("empty record")
				}
			}
			if n := countReceived(s, "10"); n != 1 {
				t.Errorf("posting 10 reached the PMS %d times", n)
			}
			noViolations(t, s)
		})
	}
}

func countReceived(s *sim.Sim, n string) int {
	c := 0
	for _, p := range s.Received() {
		if p.Number == n {
			c++
		}
	}
	return c
}

// TestLinkLostAfterBooking: the PMS books the posting, then the link drops
// before the PA: in doubt; after the reconnect it is not sent again.
func TestLinkLostAfterBooking(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	l := connect(t, s, nil)
	s.SetFaults(sim.Faults{CutAfterBooking: 1})
	r, err := post(t, l, charge(20, "101"))
	if r.Outcome != gateway.PostInDoubt || !errors.Is(err, gateway.ErrInDoubt) {
		t.Fatalf("%+v %v", r, err)
	}
	if !strings.Contains(err.Error(), "lost") {
		t.Errorf("error does not say the link was lost: %v", err)
	}
	waitSim(t, s, "a second connection", func() bool { a, _ := s.Connections(); return a >= 2 })
	waitReady(t, l)
	r, err = post(t, l, charge(21, "101"))
	if r.Outcome != gateway.PostPosted {
		t.Fatalf("after reconnect: %+v %v", r, err)
	}
	if n := countReceived(s, "20"); n != 1 {
		t.Errorf("posting 20 reached the PMS %d times", n)
	}
	for _, b := range s.Ledger() {
		if b.Duplicate {
			t.Errorf("duplicate booking %+v", b)
		}
	}
	noViolations(t, s)
}

// TestOneOutstanding: many goroutines post at once, some answers slow,
// some lost: the PMS never sees a PS before the previous one's answer (or
// timeout), and no posting is sent twice.
func TestOneOutstanding(t *testing.T) {
	s := startSim(t, sim.Options{})
	for r := 101; r <= 105; r++ {
		s.CheckIn(gateway.Guest{Room: sim.Range(r, r)[0]})
	}
	l := connect(t, s, nil)
	s.SetFaults(sim.Faults{PADelay: 30 * time.Millisecond, NoPA: 2, Answers: []string{"OK", "RY", "OK", "NA"}})
	var wg sync.WaitGroup
	outcomes := make(chan gateway.PostOutcome, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r, _ := l.Post(ctx, charge(uint32(100+i), sim.Range(101+i%5, 101+i%5)[0]))
			outcomes <- r.Outcome
		}()
	}
	wg.Wait()
	close(outcomes)
	count := map[gateway.PostOutcome]int{}
	for o := range outcomes {
		count[o]++
	}
	// The first two postings (answers OK, RY) get no PA: in doubt; the
	// fourth is answered NA: transient; the rest are booked.
	if count[gateway.PostInDoubt] != 2 || count[gateway.PostTransient] != 1 || count[gateway.PostPosted] != 17 {
		t.Errorf("outcomes %v", count)
	}
	seen := map[string]int{}
	for _, p := range s.Received() {
		seen[p.Number]++
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("posting %s sent %d times", n, c)
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct postings reached the PMS, want 20", len(seen))
	}
	noViolations(t, s)
}

// TestStrayAnswers: PAs with an unknown, missing or repeated P# are
// ignored; the posting still gets its own answer.
func TestStrayAnswers(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	l := connect(t, s, nil)
	s.SetFaults(sim.Faults{StrayPAs: true})
	for n := uint32(30); n < 33; n++ {
		r, err := post(t, l, charge(n, "101"))
		if r.Outcome != gateway.PostPosted {
			t.Fatalf("%d: %+v %v", n, r, err)
		}
	}
	// A posting refused with a stray OK sent first must still be refused.
	s.SetFaults(sim.Faults{StrayPAs: true, Answers: []string{"NG"}})
	if r, _ := post(t, l, charge(33, "101")); r.Outcome != gateway.PostRefused {
		t.Fatalf("refused posting: %+v", r)
	}
	if n := len(s.Ledger()); n != 3 {
		t.Errorf("ledger %d", n)
	}
	noViolations(t, s)
}

// TestWireFaults: split, coalesced and noisy frames, fields in any order.
func TestWireFaults(t *testing.T) {
	s := startSim(t, sim.Options{})
	s.SetFaults(sim.Faults{Split: true, Garbage: true, Shuffle: true})
	s.CheckIn(gateway.Guest{Room: "101", LastName: "Noise"})
	l := connect(t, s, nil)
	if ev := nextEvent(t, l); ev.Guest.LastName != "Noise" {
		t.Errorf("event %+v", ev)
	}
	for i, f := range []sim.Faults{
		{Split: true, Garbage: true, Shuffle: true},
		{Coalesce: true, Garbage: true},
		{Coalesce: true, Split: true},
	} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			s.SetFaults(f)
			for j := 0; j < 5; j++ {
				n := uint32(40 + i*10 + j)
				if _, err := s.CheckIn(gateway.Guest{Room: "102", LastName: "Share"}); err != nil {
					t.Fatal(err)
				}
				if r, err := post(t, l, charge(n, "101")); r.Outcome != gateway.PostPosted {
					t.Fatalf("%+v: %+v %v", f, r, err)
				}
				if ev := nextEvent(t, l); ev.Kind != gateway.GuestCheckIn || ev.Guest.Room != "102" {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
	noViolations(t, s)
}
