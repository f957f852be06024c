package serialport

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Config is an RS-232 port as a config file gives it, for the PBX's SMDR
// output or FIAS.
type Config struct {
	Device      string `yaml:"device"`
	Baud        int    `yaml:"baud"`
	DataBits    int    `yaml:"data_bits"`
	Parity      string `yaml:"parity"`       // none, odd, even, mark, space
	StopBits    string `yaml:"stop_bits"`    // 1, 1.5, 2
	FlowControl string `yaml:"flow_control"` // none, rts-cts
}

// The values a Config may hold.
var (
	Bauds        = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}
	StopBitNames = []string{"1", "1.5", "2"}
	FlowControls = []string{"none", "rts-cts"}
)

// FillDefaults sets what a serial section leaves out to 9600 8N1, no flow
// control.
func (c *Config) FillDefaults() {
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "none"
	}
	if c.StopBits == "" {
		c.StopBits = "1"
	}
	if c.FlowControl == "" {
		c.FlowControl = "none"
	}
}

// StopBitsValue is StopBits as a number (0 when it is not one).
func (c Config) StopBitsValue() float64 {
	stop, _ := strconv.ParseFloat(c.StopBits, 64)
	return stop
}

// Check reports each problem of the section at key (pbx.serial) through add,
// with the key it is about.
func (c Config) Check(key string, add func(key, msg string)) {
	if c.Device == "" {
		add(key+".device", "missing: the serial device, e.g. /dev/ttyUSB0 (better: a stable /dev/serial/by-id/ name)")
	}
	if !slices.Contains(Bauds, c.Baud) {
		s := make([]string, len(Bauds))
		for i, n := range Bauds {
			s[i] = strconv.Itoa(n)
		}
		add(key+".baud", fmt.Sprintf("%d is not a standard baud rate: use one of %s", c.Baud, strings.Join(s, ", ")))
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		add(key+".data_bits", fmt.Sprintf("%d is not 5, 6, 7 or 8", c.DataBits))
	}
	for _, f := range []struct {
		key, value string
		valid      []string
	}{{".parity", c.Parity, Parities}, {".stop_bits", c.StopBits, StopBitNames}, {".flow_control", c.FlowControl, FlowControls}} {
		if !slices.Contains(f.valid, f.value) {
			add(key+f.key, fmt.Sprintf("%q is not one of %s", f.value, strings.Join(f.valid, ", ")))
		}
	}
}

// CheckDevice looks for the device on this machine, for gateway check (a
// missing USB adapter is the most common install mistake), and reports a
// problem at key (pbx.serial) through add.
func (c Config) CheckDevice(key string, add func(key, msg string)) {
	fi, err := os.Stat(c.Device)
	switch {
	case err != nil:
		add(key+".device", fmt.Sprintf("%s does not exist on this machine: plug in the adapter, or use its /dev/serial/by-id/ name (ls /dev/serial/by-id)", c.Device))
	case fi.Mode()&os.ModeCharDevice == 0:
		add(key+".device", fmt.Sprintf("%s is not a serial device", c.Device))
	}
}
