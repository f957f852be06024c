package pbx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/testutil"
)

// testLog returns a logger that writes to the test's log (shown when the test
// fails) and, if buf is not nil, to buf as well.
func testLog(t *testing.T, buf *syncBuffer) zerolog.Logger {
	if buf == nil {
		return testutil.Logger(t, nil)
	}
	return testutil.Logger(t, buf)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer = testutil.Buffer

// waitRetries waits until the transport of a source has begun n more retry
// waits: each follows an attempt (to open, connect, reread) that failed.
func waitRetries(t *testing.T, b *base, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-b.retried:
		case <-timeout:
			t.Fatalf("the source began %d of %d retries (stats %+v)", i, n, b.Stats())
		}
	}
}

// readN reads n records from src, failing the test if they do not all come
// within timeout.
func readN(t *testing.T, src Source, n int, timeout time.Duration) []gateway.RawRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []gateway.RawRecord
	for len(out) < n {
		r, err := src.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d records: Read: %v (stats %+v)", len(out), n, err, src.Stats())
		}
		out = append(out, r)
	}
	return out
}

func datas(rs []gateway.RawRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Data))
	}
	return out
}

// smdrLines returns n distinct record lines, each tagged with tag.
func smdrLines(tag string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("TLC %-5s 92005 617-555-%04d                 18:40 00:01:%02d $00.19", tag, i, i%60))
	}
	return out
}

// listen starts a tcp-listen source on a loopback port and closes it when
// the test ends.
func listen(t *testing.T, lo ListenOptions, so SourceOptions) *ListenSource {
	t.Helper()
	if lo.Address == "" {
		lo.Address = "127.0.0.1:0"
	}
	so.Logger = testLog(t, nil)
	l, err := ListenTCP(lo, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialTo(t *testing.T, l *ListenSource) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIdleFlush: a PBX that sends the line end only before the next record
// gets each record delivered after IdleFlush of quiet, not one record late.
func TestIdleFlush(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{IdleFlush: 100 * time.Millisecond})
	c := dialTo(t, l)
	start := time.Now()
	io.WriteString(c, "\r\nREC ONE")
	got := readN(t, l, 1, 3*time.Second)
	if string(got[0].Data) != "REC ONE" {
		t.Fatalf("got %q", got[0].Data)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("flushed after %v, before the idle time", waited)
	}
	io.WriteString(c, "\r\nREC TWO")
	if got := readN(t, l, 1, 3*time.Second); string(got[0].Data) != "REC TWO" {
		t.Fatalf("got %q", got[0].Data)
	}
	if st := l.Stats(); st.IdleFlushes != 2 || st.Records != 2 {
		t.Errorf("stats %+v: want 2 idle flushes of 2 records", st)
	}
}

// TestRecordFields: Received comes from the injected clock in UTC, Source
// names the peer, Truncated is passed on, the data is a copy without the
// line end and control bytes, and the counters add up.
func TestRecordFields(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 27, 14, 3, 5, 0, ny)
	l := listen(t, ListenOptions{}, SourceOptions{MaxRecord: 10, Now: func() time.Time { return clock }, StripHighBit: true})
	c := dialTo(t, l)
	io.WriteString(c, "ab\x00c\r\n0123456789ABCDEF\r\n\xc1\xc2\r\n")
	got := readN(t, l, 3, 3*time.Second)
	want := []gateway.RawRecord{
		{Data: []byte("abc"), Received: clock.UTC(), Source: "tcp " + c.LocalAddr().String()},
		{Data: []byte("0123456789"), Received: clock.UTC(), Source: "tcp " + c.LocalAddr().String(), Truncated: true},
		{Data: []byte("AB"), Received: clock.UTC(), Source: "tcp " + c.LocalAddr().String()},
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.Data) || !g.Received.Equal(w.Received) || g.Received.Location() != time.UTC || g.Source != w.Source || g.Truncated != w.Truncated {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
	st := l.Stats()
	if st.Transport != "tcp-listen" || st.Bytes != 28 || st.Records != 3 || st.Truncated != 1 || st.ControlBytes != 1 || st.HighBitBytes != 2 {
		t.Errorf("stats %+v", st)
	}
	if st.LastData.IsZero() || st.LastData.Location() != time.UTC {
		t.Errorf("LastData %v", st.LastData)
	}
}

// TestReadCancelAndClose: Read returns ctx.Err() when its context ends, and
// a Read blocked when Close is called returns ErrClosed; records framed
// before Close can still be read after it.
func TestReadCancelAndClose(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read after its deadline: %v", err)
	}

	select {
	case <-l.q.popWaits: // the Read above waited
	default:
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Read(context.Background())
		done <- err
	}()
	select {
	case <-l.q.popWaits: // the Read is blocked, waiting for a record
	case <-time.After(5 * time.Second):
		t.Fatal("the Read never waited for a record")
	}
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Read returned %v at Close, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a blocked Read did not return at Close")
	}

	l2 := listen(t, ListenOptions{}, SourceOptions{})
	c := dialTo(t, l2)
	io.WriteString(c, "ONE\r\nTWO\r\nTHREE")
	testutil.WaitFor(t, 3*time.Second, "3 records framed", func() bool { return l2.Stats().Queued == 2 })
	l2.Close() // flushes THREE
	got, err := readAll(l2)
	if !errors.Is(err, ErrClosed) || !slices.Equal(datas(got), []string{"ONE", "TWO", "THREE"}) {
		t.Fatalf("after Close: %q, %v", datas(got), err)
	}
}

// readAll reads until an error.
func readAll(src Source) ([]gateway.RawRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []gateway.RawRecord
	for {
		r, err := src.Read(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

// TestBackpressure: with a queue of one record and nobody reading, the
// source stops reading the connection instead of dropping records; when
// Read resumes, every record arrives, in order.
func TestBackpressure(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{QueueSize: 1})
	c := dialTo(t, l)
	lines := smdrLines("bp", 2000) // ~160 KB: more than the socket buffers hold
	var want []string
	var stream strings.Builder
	for _, s := range lines {
		stream.WriteString(s + "\r\n")
		want = append(want, s)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, stream.String())
		wrote <- err
	}()
	select {
	case <-l.q.pushWaits: // the queue is full: the connection's reader waits
	case <-time.After(10 * time.Second):
		t.Fatal("the reader never waited for room in the queue")
	}
	st := l.Stats()
	if st.Queued > 1 {
		t.Fatalf("queue holds %d records, more than its size 1", st.Queued)
	}
	if st.Bytes >= int64(stream.Len()) {
		t.Fatalf("all %d bytes were read while nobody read records: no backpressure (stats %+v)", stream.Len(), st)
	}
	got := readN(t, l, len(want), 10*time.Second)
	if !slices.Equal(datas(got), want) {
		t.Fatal("records lost or out of order under backpressure")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

// TestQueueHoldsABurst: by default the queue holds more records than the
// engine journals in one commit (gateway.BurstRecords), so that a PBX's
// burst is framed whole while nobody reads, and the next commit's records
// are waiting when the engine comes back for them.
func TestQueueHoldsABurst(t *testing.T) {
	if DefaultQueueSize < gateway.BurstRecords {
		t.Fatalf("DefaultQueueSize %d is less than a commit's %d records", DefaultQueueSize, gateway.BurstRecords)
	}
	l := listen(t, ListenOptions{}, SourceOptions{})
	c := dialTo(t, l)
	lines := smdrLines("burst", gateway.BurstRecords)
	if _, err := io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the whole burst queued", func() bool { return l.Stats().Queued == len(lines) })
	select {
	case <-l.q.pushWaits:
		t.Fatal("the reader waited for room with one burst queued")
	default:
	}
	if got := readN(t, l, len(lines), 10*time.Second); !slices.Equal(datas(got), lines) {
		t.Fatal("records lost or out of order")
	}
}

// TestQueueBytes: the queue's bytes are bounded too (QueueBytes), whatever
// the records' count: with room for two 66-byte records, the reader waits
// with two queued, and every record still arrives, in order.
func TestQueueBytes(t *testing.T) {
	l := listen(t, ListenOptions{}, SourceOptions{QueueBytes: 170})
	c := dialTo(t, l)
	lines := smdrLines("bytes", 50)
	go io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n")
	select {
	case <-l.q.pushWaits:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader never waited for room in the queue")
	}
	if st := l.Stats(); st.Queued != 2 {
		t.Fatalf("%d records of %d bytes queued under a bound of 170 bytes, want 2", st.Queued, len(lines[0]))
	}
	if got := readN(t, l, len(lines), 10*time.Second); !slices.Equal(datas(got), lines) {
		t.Fatal("records lost or out of order under the byte bound")
	}
}

// TestSourceWatchdog: a source whose PBX goes quiet reports it through
// Stats().Silent and the OnSilence callback, and reports the data resuming.
func TestSourceWatchdog(t *testing.T) {
	var mu sync.Mutex
	var calls []bool
	l := listen(t, ListenOptions{}, SourceOptions{
		Silence:   100 * time.Millisecond,
		OnSilence: func(s bool) { mu.Lock(); calls = append(calls, s); mu.Unlock() },
	})
	testutil.WaitFor(t, 3*time.Second, "silence", func() bool { return l.Stats().Silent })
	c := dialTo(t, l)
	io.WriteString(c, "REC\r\n")
	readN(t, l, 1, 3*time.Second)
	testutil.WaitFor(t, 3*time.Second, "data resumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if calls[0] != true || calls[1] != false {
		t.Fatalf("OnSilence calls %v, want [true false]", calls)
	}
}
