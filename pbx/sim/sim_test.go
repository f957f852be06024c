package sim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pbx"
)

// recordLog collects what a simulator wrote (its OnCall), call by call.
type recordLog struct {
	mu    sync.Mutex
	calls [][]Record
}

func (l *recordLog) onCall(_ SimCall, recs []Record, _ []byte) {
	l.mu.Lock()
	l.calls = append(l.calls, recs)
	l.mu.Unlock()
}

// records returns the records of calls from..to (to < 0: the last).
func (l *recordLog) records(from, to int) []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if to < 0 || to > len(l.calls) {
		to = len(l.calls)
	}
	var out []Record
	for _, rs := range l.calls[from:to] {
		out = append(out, rs...)
	}
	return out
}

func (l *recordLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// fixedClock returns a reading clock that always says t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// readCalls reads src until it has parsed n calls, failing the test on a
// record that does not parse or when they do not come within timeout.
func readCalls(t *testing.T, src pbx.Source, p *pbx.Parser, n int, timeout time.Duration) []gateway.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var calls []gateway.Call
	for len(calls) < n {
		rec, err := src.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d calls: %v (stats %+v)", len(calls), n, err, src.Stats())
		}
		c, err := p.Parse(rec)
		switch {
		case errors.Is(err, pbx.ErrSkip):
		case err != nil:
			t.Fatalf("record %q: %v", rec.Data, err)
		default:
			calls = append(calls, c)
		}
	}
	return calls
}

// sameRecords fails the test where calls differ from what was written.
func sameRecords(t *testing.T, calls []gateway.Call, recs []Record) {
	t.Helper()
	if len(calls) != len(recs) {
		t.Fatalf("%d calls read, %d records written", len(calls), len(recs))
	}
	for i := range calls {
		if d := diffCall(calls[i], recs[i].Call); d != "" {
			t.Fatalf("record %d: %s\nraw %q", i, d, calls[i].Raw)
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	loc := simLoc(t)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, loc)
	a := genCalls(t, 42, 300, start, NANP())
	b := genCalls(t, 42, 300, start, NANP())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave other calls")
	}
	if c := genCalls(t, 43, 300, start, NANP()); reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same calls")
	}
}

// TestGeneratorMix: a thousand calls of the default hotel hold every kind of
// call, plausible numbers and durations, in order of their end.
func TestGeneratorMix(t *testing.T) {
	loc := simLoc(t)
	h := DefaultHotel()
	rooms := map[string]bool{}
	for _, r := range h.Rooms {
		rooms[r] = true
	}
	calls := genCalls(t, 1, 2000, time.Date(2026, 3, 2, 9, 0, 0, 0, loc), NANP())
	count := map[string]int{}
	var last time.Time
	for _, c := range calls {
		if c.End().Before(last) {
			t.Fatalf("call %d ends before the one before it", c.ID)
		}
		last = c.End()
		if c.Answered != (c.TalkS > 0) || c.TalkS > 4*3600 || c.RingS <= 0 || c.TalkS == 9999 {
			t.Fatalf("call %+v: implausible times", c)
		}
		switch c.Direction {
		case gateway.Outgoing:
			n := c.Dialed
			switch {
			case n == "911":
				count["emergency"]++
			case len(n) == 8 && n[0] == '9':
				count["local"]++
			case len(n) == 12 && n[:2] == "91" && (n[2:5] == "800" || n[2:5] == "888" || n[2:5] == "877"):
				count["toll-free"]++
			case len(n) == 12 && n[:2] == "91":
				count["national"]++
			case len(n) > 8 && n[:4] == "9011":
				count["international"]++
			default:
				t.Fatalf("call %+v: dialed %q is no number of the plan", c, n)
			}
			if c.AccountCode != "" {
				if rooms[c.Extension] {
					t.Fatalf("a guest call with an account code: %+v", c)
				}
				count["account"]++
			}
			if !c.Answered {
				count["out unanswered"]++
			}
		case gateway.Internal:
			count["internal"]++
			if c.Dialed == c.Extension {
				t.Fatalf("call to itself: %+v", c)
			}
		case gateway.Incoming:
			if c.Extension == h.FrontDesk {
				count["in front desk"]++
			} else if rooms[c.Extension] {
				count["in room"]++
			}
			if c.TransferTo != "" {
				count["transfer"]++
				if !rooms[c.TransferTo] || c.TransferAfterS >= c.TalkS {
					t.Fatalf("implausible transfer %+v", c)
				}
			}
			if !c.Answered {
				count["in unanswered"]++
			}
			if c.CallerID == "" {
				count["withheld"]++
			}
		}
		if c.TalkS > 3600 {
			count["long"]++
		}
	}
	for _, k := range []string{"local", "national", "toll-free", "international", "account", "out unanswered", "internal",
		"in front desk", "in room", "transfer", "in unanswered", "withheld", "long"} {
		t.Run(k, func(t *testing.T) {
			if count[k] < 10 {
				t.Errorf("%d %s calls in 2000", count[k], k)
			}
		})
	}
	if count["emergency"] > 20 {
		t.Errorf("%d emergency calls in 2000", count["emergency"])
	}
	t.Logf("mix: %v", count)
}

func TestParseExtensions(t *testing.T) {
	got, err := ParseExtensions("101-103, 200,0099-0100")
	if err != nil || !reflect.DeepEqual(got, []string{"101", "102", "103", "200", "0099", "0100"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "abc", "160-101", "1-20000", "101-1000", ","} {
		t.Run(bad, func(t *testing.T) {
			if _, err := ParseExtensions(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		})
	}
}

func TestDialPlanCheck(t *testing.T) {
	for _, p := range []DialPlan{NANP(), UK()} {
		if err := p.check(); err != nil {
			t.Fatal(err)
		}
	}
	p := NANP()
	p.Area = "2x2"
	if err := p.check(); err == nil {
		t.Fatal("bad area code accepted")
	}
	p = NANP()
	p.Foreign = nil
	if err := p.check(); err == nil {
		t.Fatal("no foreign numbers accepted")
	}
}

// TestSimulatorPaced: a paced simulator writes its first call at once and
// the others one interval apart, each stamped as ending when written.
func TestSimulatorPaced(t *testing.T) {
	var log recordLog
	var out testutil.Buffer
	sim, err := NewSimulator(SimulatorOptions{
		Format: "avaya-ipo", Rate: 1200, Count: 4, OnCall: log.onCall, Logger: testutil.Logger(t, nil),
		Generator: GeneratorOptions{Hotel: DefaultHotel(), Seed: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := sim.Run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 140*time.Millisecond || took > 5*time.Second {
		t.Errorf("4 calls at 1200 a minute took %v", took)
	}
	if st := sim.Stats(); st.Calls != 4 || st.Bytes != int64(len(out.Bytes())) {
		t.Errorf("stats %+v for %d bytes", st, len(out.Bytes()))
	}
	for _, r := range log.records(0, -1) {
		end := r.StartUTC.Add(time.Duration(*r.RingS+r.DurationS) * time.Second)
		if d := time.Since(end); d < 0 || d > 5*time.Second {
			t.Errorf("record ends %v before now: a paced call ends when written", d)
		}
	}
}

// TestSimulatorStops: a simulator without a count stops with its context.
func TestSimulatorStops(t *testing.T) {
	sim, err := NewSimulator(SimulatorOptions{Format: "nec-sv", Rate: 600, Generator: GeneratorOptions{Hotel: DefaultHotel()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var out testutil.Buffer
	if err := sim.Run(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if n := sim.Stats().Calls; n < 1 || n > 3 {
		t.Errorf("%d calls in 150 ms at 10 a second", n)
	}
	if _, err := NewSimulator(SimulatorOptions{Format: "template"}); err == nil {
		t.Error("template simulated")
	}
	if _, err := NewSimulator(SimulatorOptions{Format: "avaya-ipo", Generator: GeneratorOptions{Hotel: DefaultHotel()}}); err == nil {
		t.Error("unpaced simulator without a start accepted")
	}
}

// TestDialSinkReconnect: the simulator as a TCP client of the gateway's
// tcp-listen source; the gateway drops the connection, the sink reconnects,
// replays its last records, and every call arrives.
func TestDialSinkReconnect(t *testing.T) {
	loc := simLoc(t)
	src, err := pbx.ListenTCP(pbx.ListenOptions{Address: "127.0.0.1:0"}, pbx.SourceOptions{Logger: testutil.Logger(t, nil), Silence: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sink, err := NewDialSink(ctx, DialSinkOptions{Address: src.Addr().String(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Replay: 3, Logger: testutil.Logger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var log recordLog
	run := func(first uint64, n int) {
		sim, err := NewSimulator(SimulatorOptions{
			Format: "avaya-ipo", Count: n, OnCall: log.onCall, Writer: WriterOptions{Location: loc},
			Generator: GeneratorOptions{Hotel: DefaultHotel(), Seed: first, FirstID: first, Start: time.Date(2026, 5, 4, 10, 0, 0, 0, loc)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(ctx, sink); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := pbx.NewParser("avaya-ipo", pbx.Options{Location: loc})
	run(1, 10)
	first := readCalls(t, src, p, len(log.records(0, -1)), 10*time.Second)
	sameRecords(t, first, log.records(0, -1))
	// The link breaks: the sink's next write fails, it reconnects.
	sink.mu.Lock()
	sink.conn.Close()
	sink.mu.Unlock()
	n := log.len()
	run(1000, 10)
	// After the reconnection: the last 3 calls' records again, then the
	// new ones.
	want := append(log.records(n-3, n), log.records(n, -1)...)
	got := readCalls(t, src, p, len(want), 10*time.Second)
	sameRecords(t, got, want)
}

// TestListenSinkMitel5000: the simulator as a Mitel 5000 SMDR socket: the
// gateway's tcp-dial source logs in and reads length-prefixed records; a
// wrong password is refused.
func TestListenSinkMitel5000(t *testing.T) {
	loc := simLoc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sink, err := NewListenSink(ctx, ListenSinkOptions{Address: "127.0.0.1:0", Mitel5000Login: true, Password: "12345678", Logger: testutil.Logger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	bad, err := pbx.DialTCP(pbx.DialOptions{Address: sink.Addr().String(), Mitel5000Password: "wrong", MinBackoff: time.Hour}, pbx.SourceOptions{LengthPrefixed: true, Silence: -1, Logger: testutil.Logger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the wrong login refused", func() bool { return bad.Stats().Connections == 1 && bad.Stats().Connected == 0 })
	bad.Close()
	if sink.Connected() != 0 {
		t.Fatal("a wrong password got the records")
	}

	var log recordLog
	// Calls from 10:00 to about 13:00: read that afternoon.
	src, err := pbx.DialTCP(pbx.DialOptions{Address: sink.Addr().String(), Mitel5000Password: "12345678"},
		pbx.SourceOptions{LengthPrefixed: true, Silence: -1, Logger: testutil.Logger(t, nil), Now: fixedClock(time.Date(2026, 5, 4, 15, 0, 0, 0, loc))})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sim, err := NewSimulator(SimulatorOptions{
		Format: "mitel-5000", Count: 60, OnCall: log.onCall, Writer: WriterOptions{Location: loc, Framed: true},
		Generator: GeneratorOptions{Hotel: DefaultHotel(), Seed: 9, Start: time.Date(2026, 5, 4, 10, 0, 0, 0, loc)},
	})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- sim.Run(ctx, sink) }()
	p, _ := pbx.NewParser("mitel-5000", pbx.Options{Location: loc})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	recs := log.records(0, -1)
	calls := readCalls(t, src, p, len(recs), 10*time.Second)
	sameRecords(t, calls, recs)
	if st := src.Stats(); st.Frames != int64(len(recs)) {
		t.Errorf("%d frames for %d records", st.Frames, len(recs))
	}
}

func TestSinkAddresses(t *testing.T) {
	if _, err := NewDialSink(context.Background(), DialSinkOptions{Address: "nowhere"}); err == nil {
		t.Error("address without port accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := NewListenSink(context.Background(), ListenSinkOptions{Address: ln.Addr().String()}); err == nil {
		t.Error("address in use accepted")
	}
}

// TestSimulatorNoise: line noise between the records is skipped or
// quarantined by every reader, and every call still reads back.
func TestSimulatorNoise(t *testing.T) {
	loc := simLoc(t)
	for _, format := range WritableFormats() {
		var log recordLog
		var out testutil.Buffer
		sim, err := NewSimulator(SimulatorOptions{
			Format: format, Count: 80, Noise: 0.5, OnCall: log.onCall, Writer: WriterOptions{Location: loc},
			Generator: GeneratorOptions{Hotel: DefaultHotel(), Seed: 8, Start: time.Date(2026, 5, 4, 10, 0, 0, 0, loc)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		p, _ := pbx.NewParser(format, pbx.Options{Location: loc})
		fr := pbx.Framer{LengthPrefixed: p.Format().LengthPrefixed}
		var calls []gateway.Call
		junk := 0
		emit := func(b []byte, truncated bool) {
			c, err := p.Parse(gateway.RawRecord{Data: b, Received: time.Date(2026, 5, 4, 20, 0, 0, 0, loc), Truncated: truncated})
			switch {
			case err == nil:
				calls = append(calls, c)
			case bytes.Contains(b, []byte("~")):
				junk++
			case !errors.Is(err, pbx.ErrSkip):
				t.Fatalf("%s: %q: %v", format, b, err)
			}
		}
		fr.Feed(out.Bytes(), emit)
		fr.Flush(emit)
		sameRecords(t, calls, log.records(0, -1))
		if junk < 20 {
			t.Errorf("%s: %d noise lines in 80 calls at 0.5", format, junk)
		}
	}
	if _, err := NewSimulator(SimulatorOptions{Format: "nec-sv", Rate: 1, Noise: 2}); err == nil {
		t.Error("noise 2 accepted")
	}
}
