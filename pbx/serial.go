package pbx

import (
	"sync"
	"time"

	"go.bug.st/serial"

	"callgate/gateway"
	"callgate/internal/serialport"
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

// Settings returns the port's line settings, for the serial opener.
func (o SerialOptions) Settings() serialport.Settings {
	return serialport.Settings{Device: o.Device, Baud: o.Baud, DataBits: o.DataBits, Parity: o.Parity,
		StopBits: o.StopBits, RTSCTS: o.RTSCTS, ReadTimeout: o.ReadTimeout}
}

// serialError classifies a serial port's error: kind invalid for what needs
// a configuration change, transient for a port that may come (back).
func serialError(err error) error {
	if serialport.IsPermanent(err) {
		return gateway.Wrap(gateway.KindInvalid, err, "")
	}
	return gateway.Wrap(gateway.KindTransient, err, "")
}

// SerialSource reads SMDR from a serial port. It reopens the port, with
// capped exponential back-off, when the device vanishes or fails (a USB
// adapter unplugged, a driver error). A partial record is not kept across a
// reopen: when the port is lost, whatever the framer holds is delivered as it
// is, and the parser quarantines it if it is not a whole record.
type SerialSource struct {
	*base
	opts SerialOptions

	mu   sync.Mutex
	port serial.Port // the open port, nil while there is none
}

var _ Source = (*SerialSource)(nil)

// OpenSerial checks the options, tries to open the port and starts reading
// it. It fails at once on settings the port or the system refuses (bad
// settings, permission denied, not a serial port); a device that is missing
// or busy is waited for in the background, since USB adapters come and go.
func OpenSerial(o SerialOptions, so SourceOptions) (*SerialSource, error) {
	if _, err := o.Settings().Mode(); err != nil {
		return nil, serialError(err)
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultPoll
	}
	s := &SerialSource{base: newBase("serial", o.Device, so, true), opts: o}
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
	p, err := serialport.Open(s.opts.Settings(), s.log)
	if err != nil {
		return nil, serialError(err)
	}
	return p, nil
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
		if !s.retryAfter(bo.Next()) {
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
				if !s.retryAfter(bo.Next()) {
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
		s.log.Info().Str("settings", s.opts.Settings().Describe()).Bool("reopened", reconnect).Msg("PBX serial port open")
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
			bo.Reset()
		}
		if !s.retryAfter(bo.Next()) {
			return
		}
	}
}
