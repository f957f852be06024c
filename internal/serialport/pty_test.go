//go:build linux

package serialport

import (
	"io"
	"os"
	"testing"

	"github.com/creack/pty"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// ptyPair opens a pseudo-terminal: the master is the far device, the slave
// the port the gateway opens.
func ptyPair(t *testing.T) (master, slave *os.File) {
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestSettingsPTY: the line settings reach the device's termios, through
// go.bug.st/serial on a pseudo-terminal. A pty keeps the baud rate, stop
// bits, RTS/CTS and the parity kind (PARODD, CMSPAR) but forces 8 data bits
// and clears PARENB, so those two are not checked here.
func TestSettingsPTY(t *testing.T) {
	_, s := ptyPair(t)
	cflag := func(st Settings) uint32 {
		t.Helper()
		st.Device = s.Name()
		p, err := Open(st, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Cflag
	}
	for _, tc := range []struct {
		name string
		st   Settings
		ok   func(c uint32) bool
	}{
		{"7E2 1200 RTS/CTS", Settings{Baud: 1200, DataBits: 7, Parity: "even", StopBits: 2, RTSCTS: true}, func(c uint32) bool {
			return c&unix.CBAUD == unix.B1200 && c&unix.CSTOPB != 0 && c&unix.CRTSCTS != 0 && c&unix.PARODD == 0 && c&unix.CMSPAR == 0
		}},
		{"5M1 9600", Settings{DataBits: 5, Parity: "mark"}, func(c uint32) bool {
			return c&unix.CBAUD == unix.B9600 && c&unix.CSTOPB == 0 && c&unix.CRTSCTS == 0 && c&unix.PARODD != 0 && c&unix.CMSPAR != 0
		}},
		{"8S1 4800", Settings{Baud: 4800, Parity: "space"}, func(c uint32) bool {
			return c&unix.CBAUD == unix.B4800 && c&unix.PARODD == 0 && c&unix.CMSPAR != 0
		}},
		{"8O1 19200", Settings{Baud: 19200, Parity: "odd"}, func(c uint32) bool {
			return c&unix.CBAUD == unix.B19200 && c&unix.PARODD != 0 && c&unix.CMSPAR == 0 && c&unix.CRTSCTS == 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := cflag(tc.st); !tc.ok(c) {
				t.Errorf("cflag %#o", c)
			}
		})
	}
}

// TestReadPTY: bytes written into the master come out of the port opened on
// the slave, as the gateway reads a PBX or a PMS.
func TestReadPTY(t *testing.T) {
	m, s := ptyPair(t)
	p, err := Open(Settings{Device: s.Name()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s.Close()
	if _, err := io.WriteString(m, "REC-A 415\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 11)
	if _, err := io.ReadFull(p, buf); err != nil || string(buf) != "REC-A 415\r\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
}
