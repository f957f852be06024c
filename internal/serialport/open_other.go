//go:build !linux

package serialport

import (
	"fmt"

	"go.bug.st/serial"
)

// openPort opens a serial port; RTS/CTS flow control is only done on Linux.
func openPort(dev string, mode *serial.Mode, rtscts bool) (serial.Port, error) {
	if rtscts {
		return nil, fmt.Errorf("%w: only done on Linux", errRTSCTS)
	}
	return serial.Open(dev, mode)
}
