package pbx

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"

	"callgate/gateway"
)

// SerialOptions configures a PBX's RS-232 SMDR port. Set every line setting
// from the PBX's own configuration: many PBXs print at 1200–9600 baud, 8N1 or
// 7E1.
type SerialOptions struct {
	// Device is the port, preferably a stable name such as
	// /dev/serial/by-id/usb-FTDI_…: a USB adapter that re-enumerates may come
	// back as /dev/ttyUSB1.
	Device   string
	Baud     int     // bits per second; 0 means 9600
	DataBits int     // 5 to 8; 0 means 8
	Parity   string  // none (default), odd, even, mark, space
	StopBits float64 // 1 (default), 1.5 or 2; Linux cannot do 1.5
	// RTSCTS turns on hardware flow control: when the gateway stops reading
	// (its queue is full) the UART drops RTS and the PBX holds its records.
	// Without it, DTR and RTS are simply asserted when the port opens.
	RTSCTS bool
	// ReadTimeout bounds each read so that Close and idle flushes are
	// noticed; 0 means 200 ms.
	ReadTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reopening a port that
	// vanished or failed; 0 means 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
}

// mode checks the options and returns the port mode they ask for.
func (o SerialOptions) mode() (*serial.Mode, error) {
	if o.Device == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port: no device given (e.g. /dev/ttyUSB0)")
	}
	m := &serial.Mode{BaudRate: o.Baud, DataBits: o.DataBits}
	if m.BaudRate == 0 {
		m.BaudRate = 9600
	}
	if m.BaudRate < 50 || m.BaudRate > 4000000 {
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: baud rate %d is not possible (PBXs use 1200 to 19200)", o.Device, o.Baud)
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	if m.DataBits < 5 || m.DataBits > 8 {
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: %d data bits is not possible: use 5, 6, 7 or 8", o.Device, o.DataBits)
	}
	switch o.Parity {
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
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: parity %q is not one of none, odd, even, mark, space", o.Device, o.Parity)
	}
	switch o.StopBits {
	case 0, 1:
		m.StopBits = serial.OneStopBit
	case 1.5:
		if runtime.GOOS != "windows" {
			return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: 1.5 stop bits cannot be set on this system: use 1 or 2", o.Device)
		}
		m.StopBits = serial.OnePointFiveStopBits
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: %v stop bits is not possible: use 1, 1.5 or 2", o.Device, o.StopBits)
	}
	if o.ReadTimeout < 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "serial port %s: negative read timeout", o.Device)
	}
	return m, nil
}

func (o SerialOptions) describe(m *serial.Mode) string {
	parity := o.Parity
	if parity == "" {
		parity = "none"
	}
	stop := o.StopBits
	if stop == 0 {
		stop = 1
	}
	s := fmt.Sprintf("%d baud, %d data bits, parity %s, stop bits %v", m.BaudRate, m.DataBits, parity, stop)
	if o.RTSCTS {
		s += ", RTS/CTS"
	}
	return s
}

// SerialSource reads SMDR from a serial port. It reopens the port, with
// capped exponential back-off, when the device vanishes or fails (a USB
// adapter unplugged, a driver error). A partial record is not kept across a
// reopen: when the port is lost, whatever the framer holds is delivered as it
// is, and the parser quarantines it if it is not a whole record.
type SerialSource struct {
	*base
	opts SerialOptions
	mode *serial.Mode

	mu   sync.Mutex
	port serial.Port // the open port, nil while there is none
}

var _ Source = (*SerialSource)(nil)

// OpenSerial checks the options, tries to open the port and starts reading
// it. It fails at once on settings the port or the system refuses (bad
// settings, permission denied, not a serial port); a device that is missing
// or busy is waited for in the background, since USB adapters come and go.
func OpenSerial(o SerialOptions, so SourceOptions) (*SerialSource, error) {
	m, err := o.mode()
	if err != nil {
		return nil, err
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultPoll
	}
	s := &SerialSource{base: newBase("serial", o.Device, so, true), opts: o, mode: m}
	p, err := s.open()
	if err != nil && gateway.KindOf(err) == gateway.KindInvalid {
		if s.wd != nil {
			s.wd.Stop()
		}
		return nil, err
	}
	s.wg.Add(1)
	go s.run(p, err)
	return s, nil
}

// Close closes the port; a Read in progress returns.
func (s *SerialSource) Close() error {
	s.shutdown(func() {
		s.mu.Lock()
		if s.port != nil {
			s.port.Close()
		}
		s.mu.Unlock()
	})
	return nil
}

// open opens the port and sets it up for reading. Its errors are of kind
// invalid when retrying cannot help without a change of configuration.
func (s *SerialSource) open() (serial.Port, error) {
	p, err := openPort(s.opts.Device, s.mode, s.opts.RTSCTS)
	if err != nil {
		return nil, serialError(s.opts.Device, err)
	}
	if err := p.SetReadTimeout(s.opts.ReadTimeout); err != nil {
		p.Close()
		return nil, serialError(s.opts.Device, err)
	}
	// Many PBX printer ports hold their output until DTR (or CTS) is high.
	// A pseudo-terminal has no modem lines: that is not an error.
	if err := p.SetDTR(true); err != nil {
		s.log.Debug().Err(err).Msg("cannot assert DTR (no modem lines on this port)")
	}
	if !s.opts.RTSCTS {
		if err := p.SetRTS(true); err != nil {
			s.log.Debug().Err(err).Msg("cannot assert RTS (no modem lines on this port)")
		}
	}
	return p, nil
}

// serialError says what went wrong with the port in a sentence an installer
// can act on, with kind invalid for what needs a configuration change.
func serialError(dev string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PermissionDenied:
			return gateway.Errorf(gateway.KindInvalid, "serial port %s: permission denied: run the gateway as a user in the dialout group", dev)
		case serial.InvalidSerialPort:
			if strings.Contains(pe.Error(), "error configuring port") {
				// The settings were refused (PortError has no Unwrap).
				return gateway.Errorf(gateway.KindInvalid, "serial port %s refuses these settings: %w", dev, err)
			}
			return gateway.Errorf(gateway.KindInvalid, "serial port %s is not a serial port: %w", dev, err)
		case serial.InvalidSpeed, serial.InvalidDataBits, serial.InvalidParity, serial.InvalidStopBits:
			return gateway.Errorf(gateway.KindInvalid, "serial port %s refuses these settings: %w", dev, err)
		case serial.PortBusy:
			return gateway.Errorf(gateway.KindTransient, "serial port %s is busy: is another program using it?", dev)
		case serial.PortNotFound:
			return gateway.Errorf(gateway.KindTransient, "serial port %s not found: is the adapter plugged in?", dev)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return gateway.Errorf(gateway.KindTransient, "serial port %s not found: is the adapter plugged in?", dev)
	}
	if errors.Is(err, errRTSCTS) {
		return gateway.Errorf(gateway.KindInvalid, "serial port %s: %w", dev, err)
	}
	return gateway.Errorf(gateway.KindTransient, "serial port %s: %w", dev, err)
}

// setPort publishes the open port so that Close can close it; it reports
// false (and the caller closes p) if the source is closing.
func (s *SerialSource) setPort(p serial.Port) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != nil && s.stopping() {
		return false
	}
	s.port = p
	return true
}

func (s *SerialSource) run(p serial.Port, openErr error) {
	defer s.wg.Done()
	source := "serial " + s.opts.Device
	bo := newBackoff(s.opts.MinBackoff, s.opts.MaxBackoff)
	reconnect := false
	lastErr := ""
	if openErr != nil {
		lastErr = openErr.Error()
		s.log.Warn().Err(openErr).Msg("cannot open the PBX serial port; retrying until it appears")
		if !s.sleep(bo.next()) {
			return
		}
	}
	for {
		if p == nil {
			var err error
			p, err = s.open()
			if err != nil {
				if err.Error() != lastErr {
					lastErr = err.Error()
					s.log.Warn().Err(err).Msg("cannot open the PBX serial port; retrying until it appears")
				} else {
					s.log.Debug().Err(err).Msg("serial port still unavailable")
				}
				if !s.sleep(bo.next()) {
					return
				}
				continue
			}
		}
		if !s.setPort(p) {
			p.Close()
			return
		}
		lastErr = ""
		s.opened(reconnect)
		s.log.Info().Str("settings", s.opts.describe(s.mode)).Bool("reopened", reconnect).Msg("PBX serial port open")
		start := time.Now()
		got, err := s.pump(p, source, true)
		s.setPort(nil)
		p.Close()
		p = nil
		s.closed()
		if s.stopping() {
			return
		}
		s.log.Warn().Err(err).Msg("PBX serial port lost; reopening")
		reconnect = true
		if got || time.Since(start) >= stableAfter {
			bo.reset()
		}
		if !s.sleep(bo.next()) {
			return
		}
	}
}

// errRTSCTS: hardware flow control could not be turned on.
var errRTSCTS = errors.New("cannot turn on RTS/CTS flow control")
