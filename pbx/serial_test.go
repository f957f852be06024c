//go:build linux

package pbx

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
)

// pbxSerial is 9600 8N1, the commonest PBX printer-port setting.
func pbxSerial(dev string) SerialOptions {
	return SerialOptions{
		Device: dev, Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1,
		ReadTimeout: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
}

// TestSerialPTY: records written into the pty master in random pieces, with
// NUL, XON/XOFF, DEL and other control bytes and assorted line ends between
// them, come out of go.bug.st/serial intact and in order.
func TestSerialPTY(t *testing.T) {
	m, s := testutil.OpenPTY(t)
	src, err := OpenSerial(pbxSerial(s.Name()), SourceOptions{Logger: testLog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// The port is open (raw mode) before anything is written into the master.
	testutil.WaitFor(t, 3*time.Second, "the port open", func() bool { return src.Stats().Connected == 1 })
	s.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	noise := []string{"", "\x00", "\x00\x00\x00\x00", "\x11", "\x13", "\x01\x02", "\x7f", "\x1b", "\r\n", "\f"}
	ends := []string{"\r\n", "\r", "\n", "\r\n\n", "\r\n\x00\x00"}
	want := smdrLines("ser", 100)
	var stream strings.Builder
	for _, r := range want {
		stream.WriteString(noise[rng.IntN(len(noise))] + r + ends[rng.IntN(len(ends))])
	}
	errc := make(chan error, 1)
	go func() { errc <- writeSplit(m, stream.String(), rng) }()
	got := readN(t, src, len(want), 20*time.Second)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(datas(got), want) {
		for i := range got {
			if string(got[i].Data) != want[i] {
				t.Fatalf("record %d = %q, want %q", i, got[i].Data, want[i])
			}
		}
	}
	for _, r := range got {
		if r.Source != "serial "+s.Name() {
			t.Fatalf("Source %q", r.Source)
		}
	}
	st := src.Stats()
	if st.Bytes != int64(stream.Len()) || st.ControlBytes == 0 || st.Records != int64(len(want)) || st.Truncated != 0 {
		t.Errorf("stats %+v for %d bytes", st, stream.Len())
	}
}

// repoint makes link point at target atomically, the way udev moves a
// /dev/serial/by-id name when a USB adapter re-enumerates.
func repoint(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// TestSerialReopen: the device is missing at start and is waited for; when
// the adapter is pulled mid-record (its name removed, the pty master
// closed), the records already complete are delivered, the cut record is
// delivered as it is, and the port is reopened through its name, now
// pointing at another pty (a USB adapter coming back as another tty);
// nothing is lost.
func TestSerialReopen(t *testing.T) {
	link := filepath.Join(t.TempDir(), "usb-PBX-if00")
	var logs syncBuffer
	src, err := OpenSerial(pbxSerial(link), SourceOptions{Logger: testLog(t, &logs), IdleFlush: time.Minute})
	if err != nil {
		t.Fatalf("a missing device must be waited for, not refused: %v", err)
	}
	defer src.Close()
	waitRetries(t, src.base, 2) // two attempts to open it failed
	if st := src.Stats(); st.Connected != 0 {
		t.Fatalf("stats %+v with no device", st)
	}

	m1, s1 := testutil.OpenPTY(t)
	repoint(t, s1.Name(), link)
	testutil.WaitFor(t, 3*time.Second, "the port open", func() bool { return src.Stats().Connected == 1 })
	s1.Close()
	first := "REC-A 415 92005\r\nREC-B 416 92005\r\nPARTIAL-C 41"
	io.WriteString(m1, first)
	got := readN(t, src, 2, 3*time.Second)
	testutil.WaitFor(t, 3*time.Second, "the partial record read", func() bool { return src.Stats().Bytes == int64(len(first)) })

	m2, s2 := testutil.OpenPTY(t) // opened before m1 closes, so it is another /dev/pts/N
	// The adapter is pulled mid-record: udev removes its by-id name (so the
	// source cannot open the freed /dev/pts/N, which anything on the machine
	// may take next).
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	m1.Close()
	got = append(got, readN(t, src, 1, 3*time.Second)...)
	testutil.WaitFor(t, 3*time.Second, "the loss noticed", func() bool { return src.Stats().Connected == 0 })
	waitRetries(t, src.base, 2) // reopening fails: the adapter is gone

	repoint(t, s2.Name(), link)
	testutil.WaitFor(t, 5*time.Second, "the port reopened", func() bool { return src.Stats().Connected == 1 })
	s2.Close()
	io.WriteString(m2, "REC-D 417 92005\r\n")
	got = append(got, readN(t, src, 1, 3*time.Second)...)

	want := []string{"REC-A 415 92005", "REC-B 416 92005", "PARTIAL-C 41", "REC-D 417 92005"}
	if !slices.Equal(datas(got), want) {
		t.Fatalf("got %q, want %q", datas(got), want)
	}
	st := src.Stats()
	if st.Connections != 2 || st.Reconnects != 1 || st.IdleFlushes != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := logs.Count("PBX serial port lost"); n != 1 {
		t.Errorf("%d 'port lost' lines, want 1", n)
	}
	// One warning per outage (at start, after the loss), not one per attempt.
	if n := logs.Count("cannot open the PBX serial port"); n != 2 {
		t.Errorf("%d 'cannot open' lines, want 2", n)
	}
	if n := logs.Count("PBX serial port open"); n != 2 {
		t.Errorf("%d 'port open' lines, want 2", n)
	}
}

// TestSerialOptions: settings no port can take, and a device that is not a
// serial port, are refused at once with a sentence saying why.
func TestSerialOptions(t *testing.T) {
	notATTY := filepath.Join(t.TempDir(), "smdr.log")
	os.WriteFile(notATTY, nil, 0o644)
	for _, tc := range []struct {
		o    SerialOptions
		want string
	}{
		{SerialOptions{}, "no device"},
		{SerialOptions{Device: "/dev/ttyS0", DataBits: 9}, "9 data bits"},
		{SerialOptions{Device: "/dev/ttyS0", Parity: "strange"}, "parity"},
		{SerialOptions{Device: "/dev/ttyS0", StopBits: 3}, "3 stop bits"},
		{SerialOptions{Device: "/dev/ttyS0", StopBits: 1.5}, "1.5 stop bits"},
		{SerialOptions{Device: "/dev/ttyS0", Baud: -5}, "baud"},
		{SerialOptions{Device: notATTY}, "not a serial port"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			src, err := OpenSerial(tc.o, SourceOptions{})
			if err == nil {
				src.Close()
				t.Fatalf("%+v accepted", tc.o)
			}
			if gateway.KindOf(err) != gateway.KindInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: %v (kind %v), want an invalid-kind error about %q", tc.o, err, gateway.KindOf(err), tc.want)
			}
		})
	}
}
