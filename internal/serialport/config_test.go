package serialport

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaultsAndCheck(t *testing.T) {
	c := Config{Device: "/dev/ttyUSB0"}
	c.FillDefaults()
	if c != (Config{Device: "/dev/ttyUSB0", Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}) {
		t.Errorf("defaults: %+v", c)
	}
	var got []string
	add := func(key, msg string) { got = append(got, key+": "+msg) }
	c.Check("pbx.serial", add)
	if len(got) != 0 {
		t.Errorf("9600 8N1 has problems: %v", got)
	}
	if c.StopBitsValue() != 1 {
		t.Errorf("stop bits %v", c.StopBitsValue())
	}
	Config{Baud: 1000, DataBits: 9, Parity: "odd-ish", StopBits: "3", FlowControl: "xon"}.Check("pms.serial", add)
	for _, want := range []string{
		"pms.serial.device: missing: the serial device",
		"pms.serial.baud: 1000 is not a standard baud rate: use one of 300, 600",
		"pms.serial.data_bits: 9 is not 5, 6, 7 or 8",
		`pms.serial.parity: "odd-ish" is not one of none, odd, even, mark, space`,
		`pms.serial.stop_bits: "3" is not one of 1, 1.5, 2`,
		`pms.serial.flow_control: "xon" is not one of none, rts-cts`,
	} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
	got = nil
	missing := filepath.Join(t.TempDir(), "ttyUSB9")
	Config{Device: missing}.CheckDevice("pbx.serial", add)
	Config{Device: t.TempDir()}.CheckDevice("pms.serial", add)
	if len(got) != 2 || !strings.HasPrefix(got[0], "pbx.serial.device: "+missing+" does not exist on this machine") ||
		!strings.HasSuffix(got[1], "is not a serial device") {
		t.Errorf("devices: %q", got)
	}
}
