package fias

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/rs/zerolog"
	"go.bug.st/serial"
)

// openSerial opens a FIAS serial port. Reads block with no timeout (a read
// timeout makes go.bug.st/serial return 0 bytes and no error); the
// connection's Close unblocks them. DTR and RTS are raised: IFC8 reads DSR
// and CTS as "the vendor is there".
func openSerial(o SerialOptions, log zerolog.Logger) (serial.Port, error) {
	m := &serial.Mode{BaudRate: o.Baud, DataBits: o.DataBits, StopBits: serial.OneStopBit}
	if m.BaudRate == 0 {
		m.BaudRate = 9600
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	switch o.Parity {
	case "", "none":
		m.Parity = serial.NoParity
	case "odd":
		m.Parity = serial.OddParity
	case "even":
		m.Parity = serial.EvenParity
	default:
		return nil, fmt.Errorf("serial port %s: parity %q is not none, odd or even", o.Device, o.Parity)
	}
	if o.StopBits == 2 {
		m.StopBits = serial.TwoStopBits
	}
	p, err := serial.Open(o.Device, m)
	if err != nil {
		return nil, serialError(o.Device, err)
	}
	if err := p.SetDTR(true); err != nil {
		log.Debug().Err(err).Msg("cannot raise DTR (no modem lines on this port)")
	}
	if err := p.SetRTS(true); err != nil {
		log.Debug().Err(err).Msg("cannot raise RTS (no modem lines on this port)")
	}
	return p, nil
}

// serialError says what went wrong with the port in a sentence an installer
// can act on.
func serialError(dev string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PermissionDenied:
			return fmt.Errorf("serial port %s: permission denied: run the gateway as a user in the dialout group", dev)
		case serial.PortBusy:
			return fmt.Errorf("serial port %s is busy: is another program using it?", dev)
		case serial.PortNotFound:
			return fmt.Errorf("serial port %s not found: is the adapter plugged in?", dev)
		case serial.InvalidSerialPort:
			return fmt.Errorf("serial port %s is not a serial port or refuses these settings: %w", dev, err)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("serial port %s not found: is the adapter plugged in?", dev)
	}
	return fmt.Errorf("serial port %s: %w", dev, err)
}
