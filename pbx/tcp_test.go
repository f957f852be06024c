package pbx

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
)

// writeSplit writes s to w in random pieces of 1 to 40 bytes with short
// pauses, the way a PBX's records reach a socket.
func writeSplit(w io.Writer, s string, rng *rand.Rand) error {
	for len(s) > 0 {
		n := min(len(s), 1+rng.IntN(40))
		if _, err := io.WriteString(w, s[:n]); err != nil {
			return err
		}
		s = s[n:]
		if rng.IntN(3) == 0 {
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}
	return nil
}

// TestListenConcurrent: three PBX connections write interleaved partial
// records at once; every record arrives whole, each connection's records in
// their order, each named after its peer.
func TestListenConcurrent(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{})
	const conns, per = 3, 40
	peers := make([]string, conns)
	want := make([][]string, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		c := dialTo(t, l)
		peers[i] = "tcp " + c.LocalAddr().String()
		want[i] = smdrLines(string(rune('A'+i)), per)
		stream := strings.Join(want[i], "\r\n") + "\r\n"
		wg.Add(1)
		go func(c net.Conn, seed uint64) {
			defer wg.Done()
			errs <- writeSplit(c, stream, rand.New(rand.NewPCG(seed, 1)))
		}(c, uint64(i))
	}
	testutil.WaitFor(t, 3*time.Second, "3 connections", func() bool { return l.Stats().Connected == conns })
	got := readN(t, l, conns*per, 10*time.Second)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	bySource := map[string][]string{}
	interleaved := false
	for i, r := range got {
		bySource[r.Source] = append(bySource[r.Source], string(r.Data))
		if i > 0 && r.Source != got[i-1].Source {
			interleaved = true
		}
	}
	for i, p := range peers {
		if !slices.Equal(bySource[p], want[i]) {
			t.Errorf("connection %d (%s): got %d records %q…, want %d in order", i, p, len(bySource[p]), head(bySource[p]), per)
		}
	}
	if !interleaved {
		t.Log("note: the connections' records did not interleave this run")
	}
	st := l.Stats()
	if st.Connections != conns || st.Reconnects != conns-1 || st.Records != conns*per {
		// All three come from 127.0.0.1: the second and third count as
		// reconnects of a peer seen before.
		t.Errorf("stats %+v", st)
	}
}

func head(s []string) []string {
	if len(s) > 2 {
		return s[:2]
	}
	return s
}

// TestListenDisconnect: a PBX that disconnects mid-record has the part it
// sent delivered, and the connection count goes back to 0.
func TestListenDisconnect(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{})
	c := dialTo(t, l)
	io.WriteString(c, "FIRST\r\nCUT OFF")
	testutil.WaitFor(t, 3*time.Second, "the bytes read", func() bool { return l.Stats().Bytes == 14 })
	c.Close()
	got := readN(t, l, 2, 3*time.Second)
	if !slices.Equal(datas(got), []string{"FIRST", "CUT OFF"}) {
		t.Fatalf("got %q", datas(got))
	}
	// The record cut by the lost connection is flagged, so it is never
	// charged; the whole one before it is not.
	for _, r := range got {
		if r.Cut != (string(r.Data) == "CUT OFF") {
			t.Errorf("%q: Cut = %v", r.Data, r.Cut)
		}
	}
	testutil.WaitFor(t, 3*time.Second, "no connection", func() bool { return l.Stats().Connected == 0 })
}

// TestCutRecordNotParsed: a record flagged Cut is refused by every parser,
// even when its bytes happen to read as a call (an IP Office record cut
// after its 19th field does).
func TestCutRecordNotParsed(t *testing.T) {
	p := mustParser(t, "avaya-ipo", Options{})
	whole := "2024/11/05 18:40:02,00:01:35,4,415,O,6175550134,6175550134,,0,1004211,0,E415,Room 415,T9005,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,"
	cut := whole[:strings.Index(whole, "n/a")+3]
	if _, err := p.Parse(gateway.RawRecord{Data: []byte(cut)}); err != nil {
		t.Fatalf("the cut bytes do not read as a call (%v): the test shows nothing", err)
	}
	_, err := p.Parse(gateway.RawRecord{Data: []byte(cut), Cut: true})
	if err == nil || gateway.KindOf(err) != gateway.KindInvalid || !strings.Contains(err.Error(), "not charged") {
		t.Errorf("a cut record parsed: %v", err)
	}
}

// TestListenAllow: a peer outside the allow-list is disconnected unread.
func TestListenAllow(t *testing.T) {
	l := listen(t, ListenOptions{Allow: []string{"10.9.9.9", "192.168.0.0/16"}}, SourceOptions{})
	c := dialTo(t, l)
	io.WriteString(c, "FAKE CALL\r\n")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a refused connection stayed open")
	}
	// The connection was refused unread (its close was seen above): nothing
	// was framed from it.
	if st := l.Stats(); st.Connections != 0 || st.Bytes != 0 || st.Records != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}

	if _, err := ListenTCP(ListenOptions{Address: "127.0.0.1:0", Allow: []string{"pbx.example"}}, SourceOptions{}); gateway.KindOf(err) != gateway.KindInvalid {
		t.Errorf("a host name in the allow-list: %v", err)
	}
	l2 := listen(t, ListenOptions{Allow: []string{"127.0.0.0/8"}}, SourceOptions{})
	c2 := dialTo(t, l2)
	io.WriteString(c2, "REAL CALL\r\n")
	readN(t, l2, 1, 3*time.Second)
}

// TestListenAddressInUse: the bind happens in ListenTCP, so a taken address
// is an error at once.
func TestListenAddressInUse(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{})
	_, err := ListenTCP(ListenOptions{Address: l.Addr().String()}, SourceOptions{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second listener on %s: %v", l.Addr(), err)
	}
}

func TestMitel5000LoginFrame(t *testing.T) {
	if got, want := mitel5000Login(""), []byte{0x02, 0, 0, 0, 0x84, 0}; !bytes.Equal(got, want) {
		t.Errorf("no password: % x, want % x", got, want)
	}
	// The example of the Mitel 5000 documentation.
	want := []byte{0x0A, 0, 0, 0, 0x84, '1', '2', '3', '4', '5', '6', '7', '8', 0}
	if got := mitel5000Login("12345678"); !bytes.Equal(got, want) {
		t.Errorf("password 12345678: % x, want % x", got, want)
	}
}

func TestDialOptions(t *testing.T) {
	for _, o := range []DialOptions{
		{Address: ""},
		{Address: "10.0.0.5"},
		{Address: "10.0.0.5:4000", Mitel5000Password: "0123456789abcdef"},
		{Address: "10.0.0.5:4000", Mitel5000Password: "pass\x00"},
	} {
		if _, err := DialTCP(o, SourceOptions{}); gateway.KindOf(err) != gateway.KindInvalid {
			t.Errorf("%+v: %v, want an invalid-kind error", o, err)
		}
	}
}

// fakeMitel is a Mitel 5000 SMDR socket on the loopback: it checks the login
// frame, then sends length-prefixed records.
type fakeMitel struct {
	t        *testing.T
	ln       net.Listener
	addr     string
	password string
}

func (m *fakeMitel) listen() {
	m.t.Helper()
	addr := m.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	for range 50 { // the port of a closed listener can take a moment to free
		if m.ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		m.t.Fatal(err)
	}
	m.addr = m.ln.Addr().String()
}

// accept takes the collector's connection and reads its login frame.
func (m *fakeMitel) accept() net.Conn {
	m.t.Helper()
	m.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := m.ln.Accept()
	if err != nil {
		m.t.Fatalf("the collector did not connect: %v", err)
	}
	m.t.Cleanup(func() { c.Close() })
	want := mitel5000Login(m.password)
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		m.t.Fatalf("reading the login frame: %v", err)
	}
	if !bytes.Equal(got, want) {
		m.t.Fatalf("login frame % x, want % x", got, want)
	}
	return c
}

// TestDialMitel5000: the dialer logs in, reads length-prefixed records in
// pieces, and when the PBX drops the connection and its socket is gone for a
// while, reconnects with back-off, logs in again and reads on.
func TestDialMitel5000(t *testing.T) {
	pbx := &fakeMitel{t: t, password: "12345678"}
	pbx.listen()
	var logs syncBuffer
	d, err := DialTCP(DialOptions{
		Address:           pbx.addr,
		Mitel5000Password: pbx.password,
		MinBackoff:        20 * time.Millisecond,
		MaxBackoff:        100 * time.Millisecond,
	}, SourceOptions{LengthPrefixed: true, Logger: testLog(t, &logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	recs := []string{
		"TLC 415   92005 617-555-0134                 18:40 00:01:35 $00.19              ",
		"O/I 512   92006 011441632960777              18:52 00:30:04 $27.06              ",
		"IN  ***** 92007                              19:01 00:00:18                     ",
		"IN  415   92007                              19:03 00:07:22                    *",
	}
	rng := rand.New(rand.NewPCG(7, 7))
	c := pbx.accept()
	if err := writeSplit(c, lp(recs[0]+"\r\n")+lp(recs[1]+"\r\n"), rng); err != nil {
		t.Fatal(err)
	}
	got := readN(t, d, 2, 5*time.Second)

	// The PBX goes away: connection and listening socket.
	c.Close()
	pbx.ln.Close()
	testutil.WaitFor(t, 3*time.Second, "the loss noticed", func() bool { return d.Stats().Connected == 0 })
	waitRetries(t, d.base, 2) // refused attempts
	pbx.listen()
	defer pbx.ln.Close()
	c = pbx.accept()
	if err := writeSplit(c, lp(recs[2]+"\r\n")+lp(recs[3]+"\r\n"), rng); err != nil {
		t.Fatal(err)
	}
	got = append(got, readN(t, d, 2, 5*time.Second)...)
	if !slices.Equal(datas(got), recs) {
		t.Fatalf("got %q", datas(got))
	}
	for _, r := range got {
		if r.Source != "tcp "+pbx.addr {
			t.Errorf("record from %q, want tcp %s", r.Source, pbx.addr)
		}
	}
	st := d.Stats()
	if st.Connections != 2 || st.Reconnects != 1 || st.Frames != 4 || st.Connected != 1 {
		t.Errorf("stats %+v", st)
	}
	if n := logs.Count("cannot connect to the PBX"); n != 1 {
		t.Errorf("%d connection failures logged above debug, want 1 (one line per state change)", n)
	}
}

// TestDialWaitsForPBX: a PBX that is down when the gateway starts is waited
// for; plain lines (no login) are read once it is up.
func TestDialWaitsForPBX(t *testing.T) {
	pbx := &fakeMitel{t: t}
	pbx.listen()
	pbx.ln.Close() // a free port with nobody listening
	d, err := DialTCP(DialOptions{Address: pbx.addr, MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		SourceOptions{Logger: testLog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitRetries(t, d.base, 2) // two attempts to connect failed
	if st := d.Stats(); st.Connected != 0 || st.Connections != 0 {
		t.Fatalf("stats %+v with nobody listening", st)
	}
	pbx.listen()
	defer pbx.ln.Close()
	pbx.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := pbx.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "0123 04/01 10:15 00:02:05 T001 0442079460000\r\n")
	if got := readN(t, d, 1, 5*time.Second); string(got[0].Data) != "0123 04/01 10:15 00:02:05 T001 0442079460000" {
		t.Fatalf("got %q", got[0].Data)
	}
	// Close during a connection returns promptly.
	done := make(chan struct{})
	go func() { d.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hung")
	}
}
