// Package sim is a FIAS PMS simulator: a peer that behaves like Oracle's
// IFC8 interface program in front of OPERA (or, in Protel mode, like
// Protel's FIAS socket server), strict enough to prove a vendor system right.
// It is what the gateway's tests post to, and what `gateway sim pms` runs
// for installers.
//
// It sends LS when a client connects, ignores data until the client
// described the link (LD, LRs, LA), answers LA, answers a later LS with LA,
// validates every posting (PS) strictly and records each breach of the
// rules as a Violation, keeps a guest database that a test (or a person)
// changes at run time and pushes as GI/GO/GC, answers a resync request
// (DR), books accepted postings in a ledger that detects duplicates by P#,
// and injects faults on demand.
//
//	s, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: sim.Range(101, 160)})
//	s.CheckIn(gateway.Guest{Room: "101", LastName: "Hartley"})
//	… point the gateway at s.Addr() …
//	s.SetFaults(sim.Faults{PADelay: 2 * time.Second})
//	ledger := s.Ledger()
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/changes"
	"callgate/pms/fias"
)

// Options configures a simulator.
type Options struct {
	// Rooms lists the hotel's rooms, in the order a resync reports them. A
	// posting to any other room is refused as an invalid room.
	Rooms []string
	// Protel makes the simulator act as Protel's socket server: a second
	// client is refused while one is connected (IFC8 instead drops the old
	// one), the in-house guests are pushed after LA, and a resync comes
	// without DS/DE.
	Protel bool
	// CodePage is the code page of the wire; "" means windows-1252.
	CodePage string
	// AnswerWindow is how long the client must wait for a PA before it may
	// send the next PS; a PS sooner is a stop-and-wait violation. 0 means
	// 30 s; set it to the client's answer timeout.
	AnswerWindow time.Duration
	// AliveCheckMin, when set, makes an alive check (LS while alive) sooner
	// than this after the previous one a violation (Oracle: 5 minutes).
	AliveCheckMin time.Duration
	// AckTimeout is the serial ACK/NAK wait (ServeSerial); 0 means 3 s.
	AckTimeout time.Duration
	// Transcript, if set, receives every frame both ways, one line each.
	Transcript io.Writer
	// Logger gets a line per connection and link state change.
	Logger zerolog.Logger
	// Now is the clock for DA/TI; nil means time.Now.
	Now func() time.Time
}

// Faults are the misbehaviours the simulator can be told to show. Counts
// are consumed as postings arrive; flags hold until changed.
type Faults struct {
	// PADelay delays every posting answer.
	PADelay time.Duration
	// NoPA: the next NoPA postings are booked (when they would be accepted)
	// but never answered.
	NoPA int
	// CutAfterBooking: the next CutAfterBooking postings are booked (when
	// they would be accepted), then the connection is closed before the PA.
	CutAfterBooking int
	// Answers are the answer statuses (AS) for the next postings, in
	// order, whatever the guest database says: "RY", "NA", "UR", "XX", …
	// Only "OK" books.
	Answers []string
	// BusyFirst answers RY (busy) to the first try of every posting (a P#
	// not received before), as a PMS does while the folio is open at the
	// front desk; the next try of that P# is answered as usual.
	BusyFirst bool
	// StrayPAs sends, around every real answer, a PA with an unknown P#,
	// one without P#, and a second copy of the real one.
	StrayPAs bool
	// Split writes every frame in small pieces; Coalesce joins frames into
	// larger writes; Garbage puts noise between frames.
	Split, Coalesce, Garbage bool
	// Shuffle sends the fields of guest records and answers in a random
	// order (GS and RO keep their places).
	Shuffle bool
	// FillDeclared sends every field the client declared for a record
	// type, empty when the simulated PMS has no value for it, as some PMSs
	// do: a real-time GI then carries "GS|" and "SF|".
	FillDeclared bool
	// IgnoreDR leaves resync requests unanswered; ResyncDelay paces the
	// records of a resync.
	IgnoreDR    bool
	ResyncDelay time.Duration
	// NoLA leaves the client's link description unanswered.
	NoLA bool
	// DescribeOnLS answers an alive check (LS while alive) with the PMS's
	// own link description, LD, nine LRs and LA, and then waits for the
	// client's LA, as a PMS seen in the field does. When that LA does not
	// come within DescribeWait (0 means 15 s), the simulated PMS drops the
	// session silently: it goes Deaf.
	DescribeOnLS bool
	DescribeWait time.Duration
	// Deaf reads what the client sends and answers nothing, keeping the
	// connection open: a PMS that hung.
	Deaf bool
	// Serial only: BadLRC sends the next BadLRC frames with a wrong LRC;
	// WithholdAck takes the next WithholdAck frames without ACKing them (the
	// client must ask with ENQ).
	BadLRC, WithholdAck int
}

// Booking is one posting the simulated PMS put on a folio.
type Booking struct {
	Number      string // P#
	Room        string
	Reservation string // the folio: the room's first guest
	Amount      string // TA as sent
	Text        string // CT as sent
	Record      string // the PS as received
	At          time.Time
	// Duplicate is set when a posting with the same P# was booked before:
	// the same charge is on the folio twice.
	Duplicate bool
}

// Posting is one PS received, whatever became of it.
type Posting struct {
	Number string
	Room   string
	Record string
	Answer string // the AS decided ("" when the link was cut first)
	At     time.Time
}

// Violation is one breach of the FIAS rules by the client.
type Violation struct {
	At     time.Time
	Rule   string // what was wrong, in a sentence
	Record string // the record concerned, "" if none
}

func (v Violation) String() string {
	if v.Record == "" {
		return v.Rule
	}
	return v.Rule + ": " + v.Record
}

// Sim is a running simulator. Its methods are safe for concurrent use.
type Sim struct {
	o     Options
	codec *fias.Codec
	log   zerolog.Logger
	trace *fias.Transcript
	rng   *rand.Rand

	mu          sync.Mutex
	ln          net.Listener
	peer        *peer
	faults      Faults
	rooms       []string
	guests      map[string][]gateway.Guest // room → guests, first is the folio
	nextRes     int
	nightAudit  bool
	ledger      []Booking
	booked      map[string]bool
	tried       map[string]bool // every P# received
	received    []Posting
	violations  []Violation
	accepted    int
	refused     int
	aliveCount  int
	pending     []fias.Record // guest records waiting for the link
	changed     changes.Signal
	done        chan struct{} // closed by Close
	closed      bool
	wg          sync.WaitGroup
	lastAliveLS time.Time
	aliveChecks int // alive checks (LS while alive) received
	described   int // our link descriptions the client answered with LA
}

// New returns a simulator with an empty guest database; Listen or
// ServeSerial puts it on a wire.
func New(o Options) (*Sim, error) {
	codec, err := fias.NewCodec(o.CodePage)
	if err != nil {
		return nil, err
	}
	if o.AnswerWindow <= 0 {
		o.AnswerWindow = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Sim{
		o: o, codec: codec, log: o.Logger.With().Str("component", "pms-sim").Logger(),
		rng:    rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)),
		rooms:  slices.Clone(o.Rooms),
		guests: map[string][]gateway.Guest{}, nextRes: 40001, booked: map[string]bool{}, tried: map[string]bool{}, done: make(chan struct{}),
	}
	s.trace = fias.NewTranscript(o.Transcript, codec, s.log, "PMS→", "→PMS")
	return s, nil
}

// Start returns a simulator listening on addr ("127.0.0.1:0" for any free
// port).
func Start(addr string, o Options) (*Sim, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// Range returns the rooms from to to, as decimal numbers.
func Range(from, to int) []string {
	var out []string
	for r := from; r <= to; r++ {
		out = append(out, strconv.Itoa(r))
	}
	return out
}

// Listen accepts FIAS clients on addr, like IFC8's TCP port.
func (s *Sim) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("PMS simulator cannot listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info().Str("address", ln.Addr().String()).Bool("protel", s.o.Protel).Msg("PMS simulator listening")
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

// Addr returns the address Listen listens on.
func (s *Sim) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

func (s *Sim) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		if s.peer != nil && s.o.Protel {
			s.refused++
			s.mu.Unlock()
			s.log.Info().Str("client", c.RemoteAddr().String()).Msg("second client refused: one is connected (Protel mode)")
			c.Close()
			continue
		}
		old := s.peer
		s.accepted++
		p := s.newPeer(fias.NewStreamConn(&faultWriter{s: s, rwc: c}, fias.ConnOptions{Trace: s.trace.Trace, Now: s.o.Now}), c.RemoteAddr().String())
		s.peer = p
		s.notifyLocked()
		s.mu.Unlock()
		if old != nil {
			s.log.Info().Msg("a new client connected: dropping the old one (newest wins, as IFC8 does)")
			old.close()
		}
		s.log.Info().Str("client", p.name).Msg("client connected")
		s.wg.Add(1)
		go s.serve(p, true)
	}
}

// ServeSerial serves one FIPS serial line (a pty master in tests) until it
// fails or the simulator closes: IFC8 on RS-232, sending LS until the
// client answers.
func (s *Sim) ServeSerial(rwc io.ReadWriteCloser) {
	co := fias.ConnOptions{Trace: s.trace.Trace, Now: s.o.Now, AckTimeout: s.o.AckTimeout,
		CorruptLRC: func() bool { return s.takeFault(func(f *Faults) *int { return &f.BadLRC }) },
		WithholdAck: func() bool {
			return s.takeFault(func(f *Faults) *int { return &f.WithholdAck })
		},
	}
	s.mu.Lock()
	old := s.peer
	p := s.newPeer(fias.NewSerialConn(&faultWriter{s: s, rwc: rwc}, co), "serial")
	s.peer = p
	s.accepted++
	s.notifyLocked()
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	s.wg.Add(1)
	go s.serve(p, false)
}

// takeFault consumes one count of a fault.
func (s *Sim) takeFault(field func(*Faults) *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := field(&s.faults)
	if *n > 0 {
		*n--
		return true
	}
	return false
}

// Close stops the simulator: the listener and the client's connection.
func (s *Sim) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	ln, p := s.ln, s.peer
	s.notifyLocked()
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if p != nil {
		p.close()
	}
	s.wg.Wait()
	return nil
}

// SetFaults replaces the faults in force.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	f.Answers = slices.Clone(f.Answers)
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the faults in force (counts as consumed so far).
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Answers = slices.Clone(f.Answers)
	return f
}

// Ledger returns the postings booked, in order.
func (s *Sim) Ledger() []Booking {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ledger)
}

// Received returns every posting received, in order.
func (s *Sim) Received() []Posting {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Violations returns the client's breaches of the rules, in order.
func (s *Sim) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Connections returns how many clients were accepted and refused.
func (s *Sim) Connections() (accepted, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.refused
}

// Alive reports whether a client's link is alive.
func (s *Sim) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer != nil && s.peer.alive
}

// AliveCount returns how many times a link went alive.
func (s *Sim) AliveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aliveCount
}

// AliveChecks returns how many alive checks (LS while the link is alive)
// the client sent.
func (s *Sim) AliveChecks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aliveChecks
}

// DescriptionsAnswered returns how many of the simulated PMS's own link
// descriptions (Faults.DescribeOnLS) the client answered with LA.
func (s *Sim) DescriptionsAnswered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.described
}

// WaitFor waits until cond (called with the simulator unlocked) holds, or
// ctx ends; cond is checked at every change of the simulator's state.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, cond)
}

func (s *Sim) notifyLocked() {
	s.changed.Notify()
}

func (s *Sim) violate(rule string, r *fias.Record) {
	v := Violation{At: s.o.Now(), Rule: rule}
	if r != nil {
		v.Record = r.String()
	}
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.notifyLocked()
	s.mu.Unlock()
	// The record may hold a dialed number: only at debug.
	s.log.Warn().Str("rule", rule).Msg("client broke a FIAS rule")
	s.log.Debug().Str("rule", rule).Str("record", v.Record).Msg("the record that broke it")
}

// errNoPeer: no client link to send to.
var errNoPeer = errors.New("no client connected")
