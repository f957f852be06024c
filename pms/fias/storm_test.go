package fias_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/fias"
)

// rawPMS is a PMS played by the test over real TCP, frame by frame: for
// behaviour the simulator keeps out of (floods, oversize records).
type rawPMS struct {
	t    *testing.T
	c    net.Conn
	conn fias.FrameConn
}

// listenRaw returns a listener for one rawPMS and the options of a link
// pointed at it.
func listenRaw(t *testing.T) (net.Listener, fias.Options) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o := fastOptions(t)
	o.Address = ln.Addr().String()
	return ln, o
}

func acceptRaw(t *testing.T, ln net.Listener) *rawPMS {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawPMS{t: t, c: c, conn: fias.NewStreamConn(c, fias.ConnOptions{})}
}

// send writes records (texts without framing) in one write.
func (p *rawPMS) send(recs ...string) {
	p.t.Helper()
	var b []byte
	for _, r := range recs {
		b = fias.AppendFrame(b, []byte(r), false)
	}
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

// readUntil reads records until one starts with prefix and returns them
// all, that one last.
func (p *rawPMS) readUntil(prefix string) []string {
	p.t.Helper()
	var got []string
	for {
		b, err := p.conn.ReadFrame()
		if err != nil {
			p.t.Fatalf("reading from the gateway (waiting for %s): %v; got %v", prefix, err, got)
		}
		got = append(got, string(b))
		if strings.HasPrefix(string(b), prefix) {
			return got
		}
	}
}

// start plays the link start: LS, the gateway's description, LA.
func (p *rawPMS) start() {
	p.t.Helper()
	p.send("LS|DA260301|TI120000|")
	p.readUntil("LA|")
	p.send("LA|DA260301|TI120001|")
}

func count(recs []string, prefix string) int {
	n := 0
	for _, r := range recs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// TestDescribeRateLimited (issue 14, D12): fifty LSes in a burst get one
// description at once and one more when DescribeEvery is up, not fifty.
func TestDescribeRateLimited(t *testing.T) {
	ln, o := listenRaw(t)
	o.DescribeEvery = time.Second
	l := openLink(t, o)
	p := acceptRaw(t, ln)
	burst := make([]string, 50)
	for i := range burst {
		burst[i] = "LS|DA260301|TI120000|"
	}
	p.send(burst...)
	got := p.readUntil("LA|")
	got = append(got, p.readUntil("LA|")...)
	p.send("LA|DA260301|TI120001|") // takes the description: the link is alive
	waitStatus(t, l, "alive", func(st gateway.LinkStatus) bool { return st.State == gateway.LinkAlive })
	p.send("LA|DA260301|TI120002|") // an LA unasked is answered: what came before it is all
	got = append(got, p.readUntil("LA|")...)
	if n := count(got, "LD|"); n != 2 {
		t.Errorf("%d descriptions for a burst of 50 LS, want 2:\n%s", n, strings.Join(got, "\n"))
	}
}

// TestOversizeFrames (issue 14, D12): records over 2,000 bytes are dropped,
// counted in the link's status and logged, rate-limited.
func TestOversizeFrames(t *testing.T) {
	ln, o := listenRaw(t)
	var logs testutil.Buffer
	o.Logger = o.Logger.Output(&logs)
	l := openLink(t, o)
	p := acceptRaw(t, ln)
	p.start()
	waitStatus(t, l, "alive", func(st gateway.LinkStatus) bool { return st.State == gateway.LinkAlive })
	big := "GI|RN101|GN" + strings.Repeat("x", 3000) + "|"
	p.send(big, big, big, "LA|DA260301|TI120002|")
	p.readUntil("LA|") // the LA answered: the oversize records before it were read
	if st := l.Status(); st.OversizeFrames != 3 || st.State != gateway.LinkAlive {
		t.Errorf("status %+v, want 3 oversize frames", st)
	}
	if n := strings.Count(logs.String(), "longer than FIAS allows"); n != 1 {
		t.Errorf("%d log lines for 3 oversize records within a minute, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"dropped":1`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestGuestEventBackPressure (issue 14, D12): a PMS floods check-ins while
// the engine does not take them: the link keeps at most EventQueueMax
// events (it stops reading, TCP holds the PMS back) and loses none.
func TestGuestEventBackPressure(t *testing.T) {
	ln, o := listenRaw(t)
	l := openLink(t, o)
	p := acceptRaw(t, ln)
	p.start()
	waitStatus(t, l, "alive", func(st gateway.LinkStatus) bool { return st.State == gateway.LinkAlive })
	const n = 20000
	wrote := make(chan error, 1)
	go func() {
		var b []byte
		for i := range n {
			b = fias.AppendFrame(b, []byte("GI|RN"+strconv.Itoa(i)+"|G#"+strconv.Itoa(i)+"|GSN|GNGuest|"), false)
		}
		_, err := p.c.Write(b)
		wrote <- err
	}()
	deadline := time.After(10 * time.Second)
	for fias.QueuedEvents(l) < fias.EventQueueMax {
		select {
		case <-deadline:
			t.Fatalf("the queue never filled: %d events", fias.QueuedEvents(l))
		case <-time.After(time.Millisecond):
		}
	}
	most := 0
	for i := range n {
		if q := fias.QueuedEvents(l); q > most {
			most = q
		}
		ev := nextEvent(t, l)
		if ev.Kind != gateway.GuestCheckIn || ev.Guest.Room != strconv.Itoa(i) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if most > fias.EventQueueMax+1 {
		t.Errorf("%d guest events queued, more than %d", most, fias.EventQueueMax)
	}
}
