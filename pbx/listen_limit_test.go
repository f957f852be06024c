package pbx

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/internal/testutil"
)

// dialFrom connects to l from the loopback address ip (127.0.0.0/8 is all
// this machine's), as a PBX or a flooder on another host would.
func dialFrom(t *testing.T, l *ListenSource, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 3 * time.Second}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// handled is how many connections l has accepted or refused.
func handled(l *ListenSource) int64 {
	st := l.Stats()
	return st.Connections + st.RefusedNotAllowed + st.RefusedAddressLimit + st.RefusedFull
}

// dialHandled dials from ip and waits until l has accepted or refused the
// connection, so that the next one is judged after it.
func dialHandled(t *testing.T, l *ListenSource, ip string) net.Conn {
	t.Helper()
	before := handled(l)
	c := dialFrom(t, l, ip)
	testutil.WaitFor(t, 3*time.Second, "the connection from "+ip+" handled", func() bool { return handled(l) > before })
	return c
}

// expectRecord sends a record from c and reads it from l.
func expectRecord(t *testing.T, l *ListenSource, c net.Conn, data string) {
	t.Helper()
	if _, err := io.WriteString(c, data+"\r\n"); err != nil {
		t.Fatalf("writing from %s: %v", c.LocalAddr(), err)
	}
	got := readN(t, l, 1, 5*time.Second)
	if string(got[0].Data) != data || got[0].Source != "tcp "+c.LocalAddr().String() {
		t.Fatalf("read %q from %s, want %q from %s", got[0].Data, got[0].Source, data, c.LocalAddr())
	}
}

// TestListenFloodOneAddress (issue 14, D4): 16 idle connections from one
// address no longer take every slot: that address holds 4, the other 12
// are refused and counted (and logged once, not 12 times), and the PBX from
// another address is read.
func TestListenFloodOneAddress(t *testing.T) {
	var logs syncBuffer
	l, err := ListenTCP(ListenOptions{Address: "127.0.0.1:0"}, SourceOptions{Logger: testLog(t, &logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for range 16 {
		dialHandled(t, l, "127.0.0.1")
	}
	pbx := dialHandled(t, l, "127.0.0.2")
	expectRecord(t, l, pbx, "REAL CALL 1")
	st := l.Stats()
	if st.Connections != 5 || st.RefusedAddressLimit != 12 || st.RefusedFull != 0 || st.RefusedNotAllowed != 0 {
		t.Errorf("stats %+v: want 5 accepted (4 + the PBX), 12 refused for the address limit", st)
	}
	if got := st.Refused()[RefusedAddressLimit]; got != 12 {
		t.Errorf("Refused()[%s] = %d", RefusedAddressLimit, got)
	}
	if n := strings.Count(logs.String(), `"level":"warn"`); n != 1 || !strings.Contains(logs.String(), "max_connections_per_address") {
		t.Errorf("%d warnings for 12 refusals, want one line a minute:\n%s", n, logs.String())
	}
}

// TestListenAllowNeverHoldsSlot: with allow set, peers outside it are
// refused at once, counted, and never hold a slot however many there are.
func TestListenAllowNeverHoldsSlot(t *testing.T) {
	l := listen(t, ListenOptions{Allow: []string{"127.0.0.2"}, MaxConns: 2}, SourceOptions{})
	for range 20 {
		dialHandled(t, l, "127.0.0.1")
	}
	pbx := dialHandled(t, l, "127.0.0.2")
	expectRecord(t, l, pbx, "REAL CALL")
	if st := l.Stats(); st.RefusedNotAllowed != 20 || st.Connections != 1 || st.Connected != 1 {
		t.Errorf("stats %+v: want 20 refused as not allowed, the PBX connected", st)
	}
	// "any" lets every address in, on purpose.
	open := listen(t, ListenOptions{Allow: []string{"any"}}, SourceOptions{})
	expectRecord(t, open, dialHandled(t, open, "127.0.0.3"), "ANY CALL")
}

// TestListenLastSlotForNewAddress: an address that already has a
// connection may not take the last free slot; a new address may.
func TestListenLastSlotForNewAddress(t *testing.T) {
	l := listen(t, ListenOptions{MaxConns: 3, MaxConnsPerAddress: 3}, SourceOptions{})
	dialHandled(t, l, "127.0.0.1")
	dialHandled(t, l, "127.0.0.1")
	dialHandled(t, l, "127.0.0.1")
	if st := l.Stats(); st.Connections != 2 || st.RefusedFull != 1 {
		t.Fatalf("stats %+v: want 2 accepted and the third refused (the last slot is kept)", st)
	}
	expectRecord(t, l, dialHandled(t, l, "127.0.0.2"), "REAL CALL")
}

// fakeNow is a clock a test moves forward.
type fakeNow struct{ ns atomic.Int64 }

func newFakeNow() *fakeNow {
	f := &fakeNow{}
	f.ns.Store(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano())
	return f
}
func (f *fakeNow) Now() time.Time          { return time.Unix(0, f.ns.Load()) }
func (f *fakeNow) Advance(d time.Duration) { f.ns.Add(int64(d)) }

// TestListenEvictIdle: when flooders from many addresses take every slot, a
// newcomer is refused until one has been idle for EvictIdle; then one from
// the address holding the most is closed for it. A quiet PBX that has sent
// records is never closed for another address, however long it is quiet.
func TestListenEvictIdle(t *testing.T) {
	clock := newFakeNow()
	l := listen(t, ListenOptions{}, SourceOptions{Now: clock.Now})
	pbx := dialHandled(t, l, "127.0.0.2")
	expectRecord(t, l, pbx, "EVENING CALL")
	clock.Advance(8 * time.Hour) // a quiet night
	// 15 slots are left: three addresses take 4 each, a fourth 2 (its 3rd
	// would take the last slot, kept for a new address), a fifth the last.
	for _, ip := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"} {
		for range 4 {
			dialHandled(t, l, ip)
		}
	}
	for range 3 {
		dialHandled(t, l, "127.0.1.4")
	}
	dialHandled(t, l, "127.0.1.5")
	if st := l.Stats(); st.Connected != 16 || st.RefusedFull != 1 || st.Evicted != 0 {
		t.Fatalf("stats %+v: want 16 connected and one refused", st)
	}
	// Full, and no flooder idle for a minute yet: a newcomer is refused (the
	// PBX has been idle 8 hours, but it has sent records).
	dialHandled(t, l, "127.0.1.6")
	if st := l.Stats(); st.RefusedFull != 2 || st.Evicted != 0 {
		t.Fatalf("stats %+v: want the newcomer refused", st)
	}
	// The flooders idle for a minute: one of them goes for the newcomer.
	clock.Advance(DefaultEvictIdle)
	late := dialHandled(t, l, "127.0.1.7")
	if st := l.Stats(); st.Evicted != 1 || st.Connected > 16 {
		t.Fatalf("stats %+v: want one idle flooder closed for the newcomer", st)
	}
	expectRecord(t, l, late, "NEWCOMER")
	expectRecord(t, l, pbx, "MORNING CALL")
}

// TestListenReplaceOwnIdle: a PBX at its address's limit (half-open
// connections from before a reboot) replaces its own idle connection.
func TestListenReplaceOwnIdle(t *testing.T) {
	clock := newFakeNow()
	l := listen(t, ListenOptions{MaxConnsPerAddress: 2}, SourceOptions{Now: clock.Now})
	old := dialHandled(t, l, "127.0.0.2")
	expectRecord(t, l, old, "BEFORE REBOOT")
	dialHandled(t, l, "127.0.0.2")
	dialHandled(t, l, "127.0.0.2")
	if st := l.Stats(); st.RefusedAddressLimit != 1 {
		t.Fatalf("stats %+v: want the third refused while the others are not idle", st)
	}
	clock.Advance(DefaultEvictIdle)
	expectRecord(t, l, dialHandled(t, l, "127.0.0.2"), "AFTER REBOOT")
	if st := l.Stats(); st.Evicted != 1 {
		t.Errorf("stats %+v: want one of its own idle connections replaced", st)
	}
	testutil.WaitFor(t, 3*time.Second, "2 connections", func() bool { return l.Stats().Connected == 2 })
}
