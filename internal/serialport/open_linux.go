//go:build linux

package serialport

import (
	"fmt"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// openPort opens a serial port. go.bug.st/serial always turns RTS/CTS flow
// control off and does not expose its descriptor, so to turn it on the device
// is opened a second time just before (termios settings belong to the
// device, not to a descriptor), the flag is set through that descriptor once
// the port is configured, and the descriptor is closed.
func openPort(dev string, mode *serial.Mode, rtscts bool) (serial.Port, error) {
	if !rtscts {
		return serial.Open(dev, mode)
	}
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		// Let the library say it in its own terms (busy, not found, …).
		p, serr := serial.Open(dev, mode)
		if serr != nil {
			return nil, serr
		}
		p.Close()
		return nil, fmt.Errorf("%w: %w", errRTSCTS, err)
	}
	defer unix.Close(fd)
	p, err := serial.Open(dev, mode)
	if err != nil {
		return nil, err
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err == nil {
		t.Cflag |= unix.CRTSCTS
		err = unix.IoctlSetTermios(fd, unix.TCSETS, t)
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: %w", errRTSCTS, err)
	}
	return p, nil
}
