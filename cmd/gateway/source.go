package main

import (
	"os"

	"github.com/rs/zerolog"

	"callgate/pbx"
)

// openSource opens the PBX transport the config names: the same call for
// gateway capture and gateway serve.
func openSource(c *Config, log zerolog.Logger, onSilence func(bool)) (pbx.Source, error) {
	p := c.PBX
	p.File = c.Resolve(p.File)
	return p.Open(log, onSilence)
}

// parserOptions returns the options of the config's PBX parser.
func parserOptions(c *Config) pbx.Options { return c.PBX.ParserOptions(c.Location) }

// checkDevices looks for what the config names on this machine, for gateway
// check: the serial ports must exist (a missing USB adapter is the most
// common install mistake).
func checkDevices(c *Config) Problems {
	k := &checker{Line: c.lines.Of}
	for key, s := range map[string]*SerialConfig{"pbx.serial.device": c.PBX.Serial, "pms.serial.device": c.PMS.Serial} {
		if s == nil || s.Device == "" {
			continue
		}
		if key == "pbx.serial.device" && c.PBX.Transport != "serial" {
			continue
		}
		fi, err := os.Stat(s.Device)
		switch {
		case err != nil:
			k.Add(key, "%s does not exist on this machine: plug in the adapter, or use its /dev/serial/by-id/ name (ls /dev/serial/by-id)", s.Device)
		case fi.Mode()&os.ModeCharDevice == 0:
			k.Add(key, "%s is not a serial device", s.Device)
		}
	}
	return k.Problems
}
