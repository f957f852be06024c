package serialport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.bug.st/serial"
)

// TestMode: every accepted parity maps to its go.bug.st/serial value, the
// defaults fill in, and settings no port can take are refused, permanently,
// naming the setting.
func TestMode(t *testing.T) {
	for _, tc := range []struct {
		parity string
		want   serial.Parity
	}{
		{"", serial.NoParity}, {"none", serial.NoParity}, {"odd", serial.OddParity}, {"even", serial.EvenParity},
		{"mark", serial.MarkParity}, {"space", serial.SpaceParity},
	} {
		t.Run("parity "+tc.parity, func(t *testing.T) {
			m, err := Settings{Device: "/dev/ttyS0", Parity: tc.parity}.Mode()
			if err != nil {
				t.Fatal(err)
			}
			if m.Parity != tc.want || m.BaudRate != 9600 || m.DataBits != 8 || m.StopBits != serial.OneStopBit {
				t.Errorf("mode %+v", m)
			}
		})
	}
	if len(Parities) != 5 {
		t.Errorf("Parities %v: the table above covers five", Parities)
	}
	m, err := Settings{Device: "/dev/ttyS0", Baud: 1200, DataBits: 7, StopBits: 2}.Mode()
	if err != nil || m.BaudRate != 1200 || m.DataBits != 7 || m.StopBits != serial.TwoStopBits {
		t.Errorf("7E2 1200: %+v, %v", m, err)
	}
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"no device", Settings{}, "serial port: no device given"},
		{"data bits", Settings{Device: "/dev/ttyS0", DataBits: 9}, "serial port /dev/ttyS0: 9 data bits is not possible"},
		{"parity", Settings{Device: "/dev/ttyS0", Parity: "strange"}, `parity "strange" is not one of none, odd, even, mark, space`},
		{"stop bits", Settings{Device: "/dev/ttyS0", StopBits: 3}, "3 stop bits is not possible"},
		{"baud", Settings{Device: "/dev/ttyS0", Baud: -5}, "baud rate -5 is not possible"},
		{"read timeout", Settings{Device: "/dev/ttyS0", ReadTimeout: -1}, "negative read timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Mode()
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want a permanent error saying %q", err, tc.want)
			}
		})
	}
	if runtime.GOOS != "windows" {
		if _, err := (Settings{Device: "/dev/ttyS0", StopBits: 1.5}).Mode(); err == nil || !strings.Contains(err.Error(), "1.5 stop bits") {
			t.Errorf("1.5 stop bits: %v", err)
		}
	}
}

// TestClassify: each way a port fails is said in a sentence, permanent when
// only a configuration change helps, and the cause stays reachable. (The
// library's PortError codes cannot be made outside it: TestOpenNotATTY and
// TestOpenMissing reach them through real opens.)
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		want      string
		permanent bool
	}{
		{"missing file", fmt.Errorf("open: %w", fs.ErrNotExist), "serial port /dev/x not found: is the adapter plugged in?", false},
		{"rts-cts", fmt.Errorf("%w: only done on Linux", errRTSCTS), "serial port /dev/x: cannot turn on RTS/CTS flow control: only done on Linux", true},
		{"other", errors.New("input/output error"), "serial port /dev/x: input/output error", false},
		{"already classified", &Error{Device: "/dev/y", Msg: " is busy", Err: errors.New("x")}, "serial port /dev/y is busy", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify("/dev/x", tc.err)
			if err.Error() != tc.want || IsPermanent(err) != tc.permanent {
				t.Errorf("%q (permanent %v), want %q (permanent %v)", err, IsPermanent(err), tc.want, tc.permanent)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("the cause %v is lost", tc.err)
			}
		})
	}
}

// TestOpenNotATTY: a file that is not a terminal is refused at once, for
// good, in the installer's words.
func TestOpenNotATTY(t *testing.T) {
	notATTY := filepath.Join(t.TempDir(), "smdr.log")
	if err := os.WriteFile(notATTY, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(Settings{Device: notATTY}, zerolog.Nop())
	if err == nil {
		p.Close()
		t.Fatal("a plain file opened as a serial port")
	}
	if !IsPermanent(err) || !strings.Contains(err.Error(), "is not a serial port") {
		t.Errorf("%v (permanent %v), want a permanent 'not a serial port'", err, IsPermanent(err))
	}
}

// TestOpenMissing: a device that is not there may come (a USB adapter): not
// permanent.
func TestOpenMissing(t *testing.T) {
	_, err := Open(Settings{Device: filepath.Join(t.TempDir(), "ttyUSB9")}, zerolog.Nop())
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("%v (permanent %v), want a passing 'not found'", err, IsPermanent(err))
	}
}
