package test

// The end-to-end tests of issue 7: the real `gateway serve` binary, built once
// per test binary, run as a child process against a pseudo-terminal PBX (the
// test writes the master; the gateway reads the slave as its serial port) and
// the FIAS PMS simulator on loopback.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"callgate/gateway"
	"callgate/internal/pgtest"
	"callgate/pbx"
	pbxsim "callgate/pbx/sim"
	"callgate/pms/fias/sim"
	"callgate/store"
	"callgate/tariff"
)

// gatewayBin is the gateway binary TestMain built ("" if the build failed:
// the end-to-end tests then fail with buildErr).
var (
	gatewayBin string
	buildErr   error
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "callgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "gateway")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "callgate/cmd/gateway")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build cmd/gateway: %v\n%s", err, out)
	} else {
		gatewayBin = bin
	}
	code := pgtest.Main(m) // m.Run, with a PostgreSQL cluster for the central's tests
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	siteZone   = "America/New_York"
	tariffFile = "../configs/tariffs/usa.yaml"
)

// hotel is one test's site: the PMS simulator, the PBX's pseudo-terminal, a
// config and journal in a temp dir, and the expectations of the calls
// written.
type hotel struct {
	t        testing.TB
	dir      string
	cfg      string
	journal  string
	pms      *sim.Sim
	master   *os.File // the PBX writes here
	slave    *os.File // held open by the test: bytes written while no gateway runs stay in the tty
	loc      *time.Location
	tariff   *tariff.Tariff
	parser   gateway.RecordParser
	occupied map[string]bool

	mu      sync.Mutex
	written []string // every record written to the pty, in order (without CR LF)
}

type hotelOptions struct {
	rooms, occupied []string
	extraConfig     string // appended to the config
}

func newHotel(t testing.TB, o hotelOptions) *hotel {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if o.rooms == nil {
		o.rooms = sim.Range(101, 160)
	}
	if o.occupied == nil {
		o.occupied = sim.Range(101, 149) // 150-160 vacant
	}
	h := &hotel{t: t, dir: t.TempDir(), occupied: map[string]bool{}}
	h.loc = ny(t)
	var err error
	if h.tariff, err = tariff.Load(tariffFile); err != nil {
		t.Fatal(err)
	}
	if h.parser, err = pbx.NewParser("avaya-ipo", pbx.Options{Location: h.loc}); err != nil {
		t.Fatal(err)
	}
	h.pms, err = sim.Start("127.0.0.1:0", sim.Options{Rooms: o.rooms, AnswerWindow: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.pms.Close() })
	h.pms.Occupy(o.occupied)
	for _, r := range o.occupied {
		h.occupied[r] = true
	}
	h.master, h.slave, err = pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { h.master.Close(); h.slave.Close() })
	// Raw from the start, so that bytes written before the gateway opens
	// the port are neither echoed nor translated.
	if _, err := term.MakeRaw(int(h.slave.Fd())); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(tariffFile)
	if err != nil {
		t.Fatal(err)
	}
	h.journal = filepath.Join(h.dir, "journal.db")
	h.cfg = filepath.Join(h.dir, "callgate.yaml")
	cfg := fmt.Sprintf(`site: {name: E2E Hotel, timezone: %s}
store: {path: %s}
pbx:
  format: avaya-ipo
  transport: serial
  serial: {device: %s, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}
pms:
  protocol: fias
  address: %q
  amount_exponent: 2
  answer_timeout_s: 30
  retry: {ry_min_s: 1, ry_max_s: 5, na_poll_s: 2}   # short waits after RY and NA, for the scenarios
rooms:
  default: same
  not_rooms: ["200-299"]
tariff: %s
console: {listen: "127.0.0.1:0"}
%s`, siteZone, h.journal, h.slave.Name(), h.pms.Addr(), abs, o.extraConfig)
	if err := os.WriteFile(h.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// simulator returns a PBX simulator writing IP Office SMDR for the 60-room
// hotel as fast as the pty takes it, recording every record written.
func (h *hotel) simulator(count int, seed uint64, noise float64) *pbxsim.Simulator {
	h.t.Helper()
	return h.simulatorFor(pbxsim.DefaultHotel(), count, seed, noise)
}

// simulatorFor is simulator for another hotel.
func (h *hotel) simulatorFor(hotel pbxsim.Hotel, count int, seed uint64, noise float64) *pbxsim.Simulator {
	h.t.Helper()
	s, err := pbxsim.NewSimulator(pbxsim.SimulatorOptions{
		Format: "avaya-ipo",
		Writer: pbxsim.WriterOptions{Location: h.loc},
		Generator: pbxsim.GeneratorOptions{Hotel: hotel, Plan: pbxsim.NANP(), Seed: seed,
			Start: time.Date(2026, 11, 20, 8, 0, 0, 0, h.loc), CallsPerHour: 120},
		Count: count,
		Noise: noise,
		OnCall: func(_ pbxsim.SimCall, _ []pbxsim.Record, b []byte) {
			h.record(b)
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// record notes the records of bytes written to the pty.
func (h *hotel) record(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range strings.Split(string(b), "\r\n") {
		if l != "" {
			h.written = append(h.written, l)
		}
	}
}

// write writes raw bytes to the pty and notes the records in them.
func (h *hotel) write(b []byte) {
	h.t.Helper()
	if _, err := h.master.Write(b); err != nil {
		h.t.Fatal(err)
	}
	h.record(b)
}

func (h *hotel) records() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.written...)
}

// expectation is what must become of one record.
type expectation struct {
	state  gateway.State // posted, exception or not-chargeable
	room   string
	amount int64 // minor units, for a posting
	why    string
}

// expect says what becomes of one record given the occupied rooms: the same
// parser and tariff the gateway uses (what `gateway rate` gives).
func (h *hotel) expect(line string) expectation {
	call, err := h.parser.Parse(gateway.RawRecord{Data: []byte(line), Received: time.Now()})
	if err != nil {
		return expectation{state: gateway.StateException, why: "unreadable: " + err.Error()}
	}
	ch, err := h.tariff.Rate(call)
	switch {
	case err != nil:
		return expectation{state: gateway.StateException, why: "cannot be rated"}
	case ch.Exception != nil:
		return expectation{state: gateway.StateException, why: "tariff: " + *ch.Exception}
	case !ch.Postable():
		return expectation{state: gateway.StateNotChargeable, why: "not postable"}
	}
	ext := call.Extension
	if n, err := strconv.Atoi(ext); err == nil && n >= 200 && n <= 299 {
		return expectation{state: gateway.StateNotChargeable, why: "not a room"}
	}
	if !h.occupied[ext] {
		return expectation{state: gateway.StateException, room: ext, why: "vacant"}
	}
	return expectation{state: gateway.StatePosted, room: ext, amount: ch.TotalMinor}
}

// rate returns what the tariff charges for a record (-1 if it cannot be
// read or rated).
func (h *hotel) rate(line string) int64 {
	call, err := h.parser.Parse(gateway.RawRecord{Data: []byte(line), Received: time.Now()})
	if err != nil {
		return -1
	}
	ch, err := h.tariff.Rate(call)
	if err != nil {
		return -1
	}
	return ch.TotalMinor
}

// gw is one running gateway process.
type gw struct {
	h      *hotel
	cmd    *exec.Cmd
	log    string
	addr   string // the console's address: /metrics, /healthz
	done   chan struct{}
	err    error
	killed bool
}

var starts int

// start runs `gateway serve` and waits until it listens.
func (h *hotel) start() *gw {
	h.t.Helper()
	// The gateway takes the port for itself (TIOCEXCL); a SIGKILLed one
	// leaves the flag on the tty the test holds open. Clear it, as a
	// replugged port would be.
	unix.IoctlSetInt(int(h.slave.Fd()), unix.TIOCNXCL, 0)
	starts++
	g := &gw{h: h, log: filepath.Join(h.dir, fmt.Sprintf("gateway-%d.log", starts)), done: make(chan struct{})}
	f, err := os.Create(g.log)
	if err != nil {
		h.t.Fatal(err)
	}
	g.cmd = exec.Command(gatewayBin, "--log-format", "json", "serve", "--config", h.cfg)
	g.cmd.Stdout, g.cmd.Stderr = f, f
	if err := g.cmd.Start(); err != nil {
		f.Close()
		h.t.Fatal(err)
	}
	go func() {
		g.err = g.cmd.Wait()
		f.Close()
		close(g.done)
	}()
	h.t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			g.cmd.Process.Kill()
			<-g.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for g.addr == "" {
		select {
		case <-g.done:
			h.t.Fatalf("the gateway exited at start: %v\n%s", g.err, g.tail())
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the gateway did not start listening within 30 s\n%s", g.tail())
		}
		g.addr = g.listenAddr()
		if g.addr == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return g
}

func (g *gw) listenAddr() string {
	f, err := os.Open(g.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Message string `json:"message"`
			Listen  string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "callgate serving" {
			return l.Listen
		}
	}
	return ""
}

// tail returns the end of the process's log.
func (g *gw) tail() string {
	b, _ := os.ReadFile(g.log)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// logHas reports whether the process's log holds s.
func (g *gw) logHas(s string) bool {
	b, _ := os.ReadFile(g.log)
	return strings.Contains(string(b), s)
}

// waitLog waits until the process's log holds s.
func (g *gw) waitLog(s string, within time.Duration) {
	g.h.t.Helper()
	deadline := time.Now().Add(within)
	for !g.logHas(s) {
		if time.Now().After(deadline) {
			g.h.t.Fatalf("no log line with %s within %v\n%s", s, within, g.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the gateway.
func (g *gw) kill() {
	g.h.t.Helper()
	g.killed = true
	g.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		g.h.t.Fatal("a SIGKILLed gateway did not exit within 30 s")
	}
}

// stop sends SIGTERM and wants exit 0.
func (g *gw) stop() {
	g.h.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		if g.err != nil {
			g.h.t.Errorf("gateway serve exited with %v\n%s", g.err, g.tail())
		}
	case <-time.After(60 * time.Second):
		g.cmd.Process.Kill()
		g.h.t.Fatalf("gateway serve did not stop within 60 s of SIGTERM\n%s", g.tail())
	}
}

// metric reads one sample of /metrics: name with labels as written there,
// e.g. `callgate_postings_total{outcome="posted"}`; 0 if absent.
func (g *gw) metric(name string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + g.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, nil
}

// waitMetric waits until the metric is at least want.
func (g *gw) waitMetric(name string, want float64, within time.Duration) {
	g.h.t.Helper()
	deadline := time.Now().Add(within)
	var v float64
	var err error
	for {
		select {
		case <-g.done:
			g.h.t.Fatalf("the gateway exited while waiting for %s ≥ %v: %v\n%s", name, want, g.err, g.tail())
		default:
		}
		v, err = g.metric(name)
		if err == nil && v >= want {
			return
		}
		if time.Now().After(deadline) {
			g.h.t.Fatalf("%s is %v (err %v) after %v, want ≥ %v\n%s", name, v, err, within, want, g.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPMS waits until cond holds at the simulator.
func (h *hotel) waitPMS(within time.Duration, what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := h.pms.WaitFor(ctx, cond); err != nil {
		h.t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// entries reads the whole journal; the gateway must have stopped.
func (h *hotel) entries() []gateway.Entry {
	h.t.Helper()
	j, err := store.Open(h.journal, store.Options{ReadOnly: true, Location: h.loc, Timeout: 10 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	defer j.Close()
	es, err := j.Entries(context.Background(), gateway.Filter{History: true})
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func rawLine(e gateway.Entry) string { return strings.TrimRight(string(e.Raw.Data), "\r\n") }

// byRaw indexes entries by their record.
func byRaw(t testing.TB, es []gateway.Entry) map[string]gateway.Entry {
	t.Helper()
	m := make(map[string]gateway.Entry, len(es))
	for _, e := range es {
		if _, dup := m[rawLine(e)]; dup {
			t.Errorf("the record is journaled twice: %q", rawLine(e))
		}
		m[rawLine(e)] = e
	}
	return m
}

// checkLedger checks the simulator's ledger against the journal: no posting
// booked twice, each booking's amount the tariff's for its record, the room
// the record's; it returns the bookings by P#.
func (h *hotel) checkLedger(es []gateway.Entry, ledger []sim.Booking) map[uint32]sim.Booking {
	h.t.Helper()
	byPosting := map[uint32]gateway.Entry{}
	for _, e := range es {
		if e.Posting != 0 {
			byPosting[e.Posting] = e
		}
	}
	booked := map[uint32]sim.Booking{}
	for _, b := range ledger {
		n, err := strconv.ParseUint(b.Number, 10, 32)
		if err != nil {
			h.t.Errorf("booking with P# %q", b.Number)
			continue
		}
		if _, dup := booked[uint32(n)]; b.Duplicate || dup {
			h.t.Errorf("posting %s booked twice at the PMS", b.Number)
		}
		booked[uint32(n)] = b
		e, ok := byPosting[uint32(n)]
		if !ok {
			h.t.Errorf("booking %s matches no journal entry", b.Number)
			continue
		}
		want := h.rate(rawLine(e))
		if b.Amount != strconv.FormatInt(want, 10) || b.Room != e.Room {
			h.t.Errorf("posting %s: booked %s to room %s, want %d to room %s (record %q)", b.Number, b.Amount, b.Room, want, e.Room, rawLine(e))
		}
	}
	if v := h.pms.Violations(); len(v) > 0 {
		h.t.Errorf("%d FIAS violations, first: %v", len(v), v[0])
	}
	return booked
}

// runPBX runs the simulator against the pty in the background; the returned
// function waits for it to end.
func (h *hotel) runPBX(s *pbxsim.Simulator) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h.master) }()
	var once sync.Once
	wait := func() {
		once.Do(func() {
			select {
			case err := <-done:
				if err != nil {
					h.t.Errorf("the PBX simulator: %v", err)
				}
			case <-time.After(120 * time.Second):
				cancel()
				h.t.Errorf("the PBX simulator did not finish within 120 s")
			}
			cancel()
		})
	}
	h.t.Cleanup(func() { cancel() })
	return wait
}

func count(m map[gateway.State]int, s gateway.State) int { return m[s] }

// chunks runs the simulator into memory and returns each call's bytes (the
// records are noted as written: the test must write every chunk).
func (h *hotel) chunks(s *pbxsim.Simulator) [][]byte {
	h.t.Helper()
	var c collector
	if err := s.Run(context.Background(), &c); err != nil {
		h.t.Fatal(err)
	}
	return c.chunks
}

type collector struct{ chunks [][]byte }

func (c *collector) Write(p []byte) (int, error) {
	c.chunks = append(c.chunks, append([]byte(nil), p...))
	return len(p), nil
}

// writeChunks writes chunks to the pty (each a Write, as the PBX prints) and
// returns how many records they hold.
func (h *hotel) writeChunks(cs [][]byte) int {
	h.t.Helper()
	n := 0
	for _, c := range cs {
		if _, err := h.master.Write(c); err != nil {
			h.t.Fatal(err)
		}
		n += strings.Count(string(c), "\r\n")
	}
	return n
}

// waitDrained waits until nothing is queued, twice in a row half a second
// apart (the posting on the wire, if any, is finished by SIGTERM).
func (g *gw) waitDrained(within time.Duration) {
	g.h.t.Helper()
	deadline := time.Now().Add(within)
	zero := 0
	for zero < 2 {
		if time.Now().After(deadline) {
			g.h.t.Fatalf("the queue did not drain within %v\n%s", within, g.tail())
		}
		if v, err := g.metric("callgate_queue_depth"); err == nil && v == 0 {
			zero++
		} else {
			zero = 0
		}
		time.Sleep(500 * time.Millisecond)
	}
}
