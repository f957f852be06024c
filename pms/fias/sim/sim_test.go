package sim

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
)

// rawClient is a hand-driven FIAS client: it sends exactly what a test
// says, to prove the simulator catches what a wrong client does.
type rawClient struct {
	t     *testing.T
	conn  fias.FrameConn
	codec *fias.Codec
	recs  chan fias.Record
}

func dial(t *testing.T, s *Sim) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := fias.NewCodec("")
	rc := &rawClient{t: t, conn: fias.NewStreamConn(c, fias.ConnOptions{}), codec: codec, recs: make(chan fias.Record, 100)}
	t.Cleanup(func() { rc.conn.Close() })
	go func() {
		for {
			b, err := rc.conn.ReadFrame()
			if err != nil {
				close(rc.recs)
				return
			}
			r, _ := codec.Decode(b)
			rc.recs <- r
		}
	}()
	return rc
}

func (c *rawClient) send(text string) {
	c.t.Helper()
	r, err := fias.ParseRecord(text)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := c.codec.Encode(r)
	if err := c.conn.WriteFrame(body); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) expect(typ string) fias.Record {
	c.t.Helper()
	for {
		select {
		case r, ok := <-c.recs:
			if !ok {
				c.t.Fatalf("connection closed waiting for %s", typ)
			}
			if r.Type == typ {
				return r
			}
		case <-time.After(5 * time.Second):
			c.t.Fatalf("no %s", typ)
		}
	}
}

func start(t *testing.T, o Options) *Sim {
	t.Helper()
	o.Rooms = Range(101, 110)
	o.Logger = testutil.Logger(t, nil)
	s, err := Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (c *rawClient) describe() {
	c.send("LD|DA250301|TI101501|V#1.0|IFCA|")
	c.send("LR|RIPS|FLRNPTTADATIDUDDPCPXSOP#CT|")
	c.send("LR|RIPA|FLRNASCTP#DATI|")
	c.send("LR|RIGI|FLRNG#GSGNSFDATI|")
	c.send("LA|DA250301|TI101501|")
	c.expect("LA")
}

func violations(s *Sim) string {
	var out []string
	for _, v := range s.Violations() {
		out = append(out, v.String())
	}
	return strings.Join(out, "\n")
}

// TestSimCatchesViolations: everything a sloppy FIAS client does wrong
// shows up as a violation.
func TestSimCatchesViolations(t *testing.T) {
	s := start(t, Options{AnswerWindow: time.Minute, AliveCheckMin: time.Minute})
	s.CheckIn(gateway.Guest{Room: "101"})
	c := dial(t, s)
	c.expect("LS")
	c.send("PS|RN101|PTC|TA100|DA250301|TI101500|P#1|") // before the link is alive
	c.expect("LS")
	c.send("LR|RIGI|FLRN|") // before LD
	c.describe()
	c.expect("GI")
	c.send("PS|RN101|PTC|TA1.50|DA250230|TI246000|DU0001|DD+44 20|P#0012|CT" + strings.Repeat("x", 21) + "|XXy|")
	c.expect("PA")
	s.SetFaults(Faults{PADelay: 100 * time.Millisecond})
	c.send("PS|RN101|PTC|TA100|DA250301|TI101500|P#2|")
	c.send("PS|RN101|PTC|TA100|DA250301|TI101500|P#3|") // before PA 2 came
	c.expect("PA")
	c.expect("PA")
	s.SetFaults(Faults{})
	c.send("PS|RN101|PTC|TA100|DA250301|TI101500|P#2|") // P# 2 booked again
	c.expect("PA")
	c.send("LS|DA250301|TI101600|")
	c.expect("LA")
	c.send("LS|DA250301|TI101601|") // alive check too soon
	c.expect("LA")
	c.send("WR|RN101|DA250301|TI070000|")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.WaitFor(ctx, func() bool { return strings.Contains(violations(s), "WR") })
	got := violations(s)
	for _, w := range []string{
		"a data record before the link is alive",
		"LR before LD",
		"TA is not an integer",
		"DA is not YYMMDD",
		"TI is not HHMMSS",
		"DU is not HHMMSS",
		"DD is not 1 to 20 digits",
		"P# is not a number from 1 to 99999999 without leading zeros",
		"CT is longer than 20 characters",
		"field XX is not in the LR for PS",
		"a second PS before the answer to posting 2",
		"posting 2 booked twice",
		"an alive check (LS) sooner than 1m0s",
		"a WR record without an LR for it",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("no violation %q in:\n%s", w, got)
		}
	}
	var dup int
	for _, b := range s.Ledger() {
		if b.Duplicate {
			dup++
		}
	}
	if dup != 1 {
		t.Errorf("%d duplicate bookings, want 1", dup)
	}
}

// TestSimHandshake: LS on accept, no LA for a bare LA, no LA for LA while
// alive, LA for LS while alive, LE answered.
func TestSimHandshake(t *testing.T) {
	s := start(t, Options{})
	c := dial(t, s)
	c.expect("LS")
	c.send("LA|DA250301|TI101501|")
	c.expect("LS") // no description yet: LS again
	c.describe()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, s.Alive); err != nil {
		t.Fatal("not alive")
	}
	c.send("LA|DA250301|TI101502|")
	c.send("LS|DA250301|TI101503|")
	// The next record is the LA to the LS; the LA sent before got none.
	if r := c.expect("LA"); r.Value("TI") == "" {
		t.Error("LA without TI")
	}
	select {
	case r := <-c.recs:
		t.Errorf("unexpected %s", r.Type)
	case <-time.After(100 * time.Millisecond):
	}
	c.send("LE|DA250301|TI101504|")
	c.expect("LE")
	if v := violations(s); v != "LA before a link description (LD and at least one LR): LA|DA250301|TI101501|" {
		t.Errorf("violations:\n%s", v)
	}
}

// TestSimResync: DR answered DS, one record per room with SF, DE; records
// the client sends meanwhile are violations.
func TestSimResync(t *testing.T) {
	s := start(t, Options{})
	s.Occupy([]string{"101"})
	c := dial(t, s)
	c.expect("LS")
	c.describe()
	c.send("DR|DA250301|TI101501|")
	c.expect("DS")
	gi := c.expect("GI")
	if !gi.Has("SF") || gi.Value("RN") != "101" {
		t.Errorf("GI %s", gi)
	}
	c.expect("DE")
	if v := violations(s); v != "" {
		t.Errorf("violations:\n%s", v)
	}
}

// TestSimBusyFirst: with BusyFirst, the first try of every posting is
// answered RY and books nothing; the next try of the same P# books it.
func TestSimBusyFirst(t *testing.T) {
	s := start(t, Options{})
	s.CheckIn(gateway.Guest{Room: "101"})
	s.SetFaults(Faults{BusyFirst: true})
	c := dial(t, s)
	c.expect("LS")
	c.describe()
	var got []string
	for _, n := range []string{"1", "1", "2", "2"} {
		c.send("PS|RN101|PTC|TA100|DA250301|TI101500|P#" + n + "|")
		got = append(got, n+":"+c.expect("PA").Value("AS"))
	}
	if strings.Join(got, " ") != "1:RY 1:OK 2:RY 2:OK" {
		t.Errorf("answers %v", got)
	}
	if l := s.Ledger(); len(l) != 2 || l[0].Duplicate || l[1].Duplicate {
		t.Errorf("ledger %+v", l)
	}
}
