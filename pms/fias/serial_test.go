//go:build linux

package fias_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

const ackTimeout = 150 * time.Millisecond

// serialLink opens a pseudo-terminal, starts the link on its serial end
// through go.bug.st/serial as production does, and returns the master end
// once the port is open (bytes written into the master before that would
// go through the default line discipline).
func serialLink(t *testing.T, mod func(*fias.Options)) (*fias.Link, *os.File) {
	t.Helper()
	m, sl := testutil.OpenPTY(t)
	o := fastOptions(t)
	o.Serial = &fias.SerialOptions{Device: sl.Name(), AckTimeout: ackTimeout}
	o.ListenWait = 10 * time.Second // wait for the simulator's LS
	if mod != nil {
		mod(&o)
	}
	l := openLink(t, o)
	waitStatus(t, l, "the port open", func(st gateway.LinkStatus) bool { return st.State == gateway.LinkStarting })
	sl.Close()
	return l, m
}

// TestSerialLink: FIPS over a pty: the handshake, postings, guest events,
// and the serial faults — bad LRC (NAK, sent again), a withheld ACK (ENQ,
// the ACK repeated), garbage between frames.
func TestSerialLink(t *testing.T) {
	var tr testutil.Buffer
	l, master := serialLink(t, func(o *fias.Options) { o.Transcript = &tr })
	s, err := sim.New(sim.Options{Rooms: sim.Range(101, 110), AckTimeout: ackTimeout, AnswerWindow: answerTimeout,
		Logger: testLog(t).With().Str("side", "sim").Logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.CheckIn(gateway.Guest{Room: "101", LastName: "Serial"})
	s.ServeSerial(master)
	waitReady(t, l)
	if ev := nextEvent(t, l); ev.Guest.LastName != "Serial" {
		t.Errorf("event %+v", ev)
	}
	for i, f := range []sim.Faults{
		{},
		{BadLRC: 2},
		{WithholdAck: 1},
		{Garbage: true, Split: true},
	} {
		s.SetFaults(f)
		n := uint32(500 + i)
		if r, err := post(t, l, charge(n, "101")); r.Outcome != gateway.PostPosted {
			t.Fatalf("%+v: %+v %v", f, r, err)
		}
	}
	s.SetFaults(sim.Faults{})
	s.CheckOut(s.Guests("101")[0].Reservation)
	if ev := nextEvent(t, l); ev.Kind != gateway.GuestCheckOut {
		t.Errorf("event %+v", ev)
	}
	if n := len(s.Ledger()); n != 4 {
		t.Errorf("ledger %d", n)
	}
	for _, b := range s.Ledger() {
		if b.Duplicate {
			t.Errorf("duplicate %+v", b)
		}
	}
	noViolations(t, s)
	text := tr.String()
	for _, w := range []string{"← LS|", "→ <ACK>", "← <ACK>", "→ <NAK>", "(damaged", "← <ENQ>", "→ PS|RN101|"} {
		if !strings.Contains(text, w) && !(w == "← <ENQ>" && strings.Contains(text, "→ <ENQ>")) {
			t.Errorf("transcript lacks %q", w)
		}
	}
	if !strings.Contains(text, "→ <ENQ>") {
		t.Errorf("the gateway never asked with ENQ:\n%s", text)
	}
}

// TestSerialStartupENQ: an ENQ before anything was received is answered
// NAK, so that the PMS sends its record again.
func TestSerialStartupENQ(t *testing.T) {
	_, master := serialLink(t, nil)
	if _, err := master.Write([]byte{fias.ENQ}); err != nil {
		t.Fatal(err)
	}
	got := make(chan byte, 1)
	go func() {
		b := make([]byte, 1)
		if n, _ := master.Read(b); n == 1 {
			got <- b[0]
		}
	}()
	select {
	case b := <-got:
		if b != fias.NAK {
			t.Errorf("answer to ENQ at start-up = %#x, want NAK", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to ENQ")
	}
}

// TestSerialNoAnswer: a PS whose ACK never comes, even after ENQs: the
// link is lost and the posting is in doubt.
func TestSerialNoAnswer(t *testing.T) {
	l, master := serialLink(t, nil)
	s, _ := sim.New(sim.Options{Rooms: sim.Range(101, 110), AckTimeout: ackTimeout, AnswerWindow: answerTimeout,
		Logger: testLog(t).With().Str("side", "sim").Logger()})
	t.Cleanup(func() { s.Close() })
	s.CheckIn(gateway.Guest{Room: "101"})
	s.ServeSerial(master)
	waitReady(t, l)
	// The PS is taken, its ACK withheld and every ENQ unanswered: the sim
	// is cut from the line right after it got the record.
	s.SetFaults(sim.Faults{CutAfterBooking: 1})
	r, err := post(t, l, charge(600, "101"))
	if r.Outcome != gateway.PostInDoubt {
		t.Fatalf("%+v %v", r, err)
	}
}
