// Package serialport opens the RS-232 ports the gateway talks on (a PBX's
// SMDR printer port, a FIAS link) and says what went wrong with one in a
// sentence an installer can act on.
package serialport

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"
)

// Settings are a port's line settings. Zero values take the defaults: 9600
// baud, 8 data bits, no parity, 1 stop bit, no flow control.
type Settings struct {
	Device   string
	Baud     int     // bits per second; 0 means 9600
	DataBits int     // 5 to 8; 0 means 8
	Parity   string  // one of Parities; "" means none
	StopBits float64 // 1 (0 means 1), 1.5 (not on Linux) or 2
	// RTSCTS turns on hardware flow control (Linux only). Without it, RTS
	// is raised when the port opens.
	RTSCTS bool
	// ReadTimeout bounds each read (a read that times out returns 0 bytes
	// and no error); 0 means reads block until data comes or the port is
	// closed.
	ReadTimeout time.Duration
}

// Parities are the parity names Settings.Parity accepts, as go.bug.st/serial
// offers them.
var Parities = []string{"none", "odd", "even", "mark", "space"}

// Error is a port that cannot be opened or set up. Permanent is true when
// trying again cannot help without a change of configuration (bad settings,
// permission denied, not a serial port), false for a port that may come
// (back): missing, busy, failing.
type Error struct {
	Device    string
	Msg       string // the sentence after "serial port <device>"
	Permanent bool
	Err       error // the cause, if any
}

func (e *Error) Error() string {
	if e.Device == "" {
		return "serial port" + e.Msg
	}
	return "serial port " + e.Device + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err is an *Error that retrying cannot cure.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

func invalid(dev, format string, args ...any) error {
	return &Error{Device: dev, Msg: fmt.Sprintf(format, args...), Permanent: true}
}

// Mode checks the settings and returns the port mode they ask for; the error
// is a permanent *Error naming the setting.
func (s Settings) Mode() (*serial.Mode, error) {
	if s.Device == "" {
		return nil, &Error{Msg: ": no device given (e.g. /dev/ttyUSB0)", Permanent: true}
	}
	m := &serial.Mode{BaudRate: s.Baud, DataBits: s.DataBits}
	if m.BaudRate == 0 {
		m.BaudRate = 9600
	}
	if m.BaudRate < 50 || m.BaudRate > 4000000 {
		return nil, invalid(s.Device, ": baud rate %d is not possible (PBXs use 1200 to 19200)", s.Baud)
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	if m.DataBits < 5 || m.DataBits > 8 {
		return nil, invalid(s.Device, ": %d data bits is not possible: use 5, 6, 7 or 8", s.DataBits)
	}
	switch s.Parity {
	case "", "none":
		m.Parity = serial.NoParity
	case "odd":
		m.Parity = serial.OddParity
	case "even":
		m.Parity = serial.EvenParity
	case "mark":
		m.Parity = serial.MarkParity
	case "space":
		m.Parity = serial.SpaceParity
	default:
		return nil, invalid(s.Device, ": parity %q is not one of %s", s.Parity, strings.Join(Parities, ", "))
	}
	switch s.StopBits {
	case 0, 1:
		m.StopBits = serial.OneStopBit
	case 1.5:
		if runtime.GOOS != "windows" {
			return nil, invalid(s.Device, ": 1.5 stop bits cannot be set on this system: use 1 or 2")
		}
		m.StopBits = serial.OnePointFiveStopBits
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, invalid(s.Device, ": %v stop bits is not possible: use 1, 1.5 or 2", s.StopBits)
	}
	if s.ReadTimeout < 0 {
		return nil, invalid(s.Device, ": negative read timeout")
	}
	return m, nil
}

// Describe returns the settings in words, for the log line of an open port.
func (s Settings) Describe() string {
	m, err := s.Mode()
	if err != nil {
		return "invalid settings"
	}
	parity := s.Parity
	if parity == "" {
		parity = "none"
	}
	stop := s.StopBits
	if stop == 0 {
		stop = 1
	}
	d := fmt.Sprintf("%d baud, %d data bits, parity %s, stop bits %v", m.BaudRate, m.DataBits, parity, stop)
	if s.RTSCTS {
		d += ", RTS/CTS"
	}
	return d
}

// Open checks the settings, opens the port, sets its read timeout and raises
// DTR (and RTS without RTS/CTS): many PBX printer ports hold their output until
// DTR is high, and IFC8 reads DSR and CTS as "the vendor is there". A port
// without modem lines (a pseudo-terminal) is fine: that is logged at debug.
// Errors are *Error.
func Open(s Settings, log zerolog.Logger) (serial.Port, error) {
	m, err := s.Mode()
	if err != nil {
		return nil, err
	}
	p, err := openPort(s.Device, m, s.RTSCTS)
	if err != nil {
		return nil, Classify(s.Device, err)
	}
	if s.ReadTimeout > 0 {
		if err := p.SetReadTimeout(s.ReadTimeout); err != nil {
			p.Close()
			return nil, Classify(s.Device, err)
		}
	}
	if err := p.SetDTR(true); err != nil {
		log.Debug().Err(err).Msg("cannot raise DTR (no modem lines on this port)")
	}
	if !s.RTSCTS {
		if err := p.SetRTS(true); err != nil {
			log.Debug().Err(err).Msg("cannot raise RTS (no modem lines on this port)")
		}
	}
	return p, nil
}

// Classify turns an error from opening or setting up the port dev into an
// *Error: a sentence an installer can act on, permanent when it needs a
// configuration change.
func Classify(dev string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PermissionDenied:
			return &Error{Device: dev, Msg: ": permission denied: run the gateway as a user in the dialout group", Permanent: true, Err: err}
		case serial.InvalidSerialPort:
			if strings.Contains(pe.Error(), "error configuring port") {
				// The settings were refused (PortError has no Unwrap).
				return &Error{Device: dev, Msg: " refuses these settings: " + err.Error(), Permanent: true, Err: err}
			}
			return &Error{Device: dev, Msg: " is not a serial port: " + err.Error(), Permanent: true, Err: err}
		case serial.InvalidSpeed, serial.InvalidDataBits, serial.InvalidParity, serial.InvalidStopBits:
			return &Error{Device: dev, Msg: " refuses these settings: " + err.Error(), Permanent: true, Err: err}
		case serial.PortBusy:
			return &Error{Device: dev, Msg: " is busy: is another program using it?", Err: err}
		case serial.PortNotFound:
			return &Error{Device: dev, Msg: " not found: is the adapter plugged in?", Err: err}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Device: dev, Msg: " not found: is the adapter plugged in?", Err: err}
	}
	if errors.Is(err, errRTSCTS) {
		return &Error{Device: dev, Msg: ": " + err.Error(), Permanent: true, Err: err}
	}
	return &Error{Device: dev, Msg: ": " + err.Error(), Err: err}
}

// errRTSCTS: hardware flow control could not be turned on.
var errRTSCTS = errors.New("cannot turn on RTS/CTS flow control")
