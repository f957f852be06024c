package main

import (
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

// checkDevices looks for what the config names on this machine, for gateway
// check: the serial ports must exist (a missing USB adapter is the most
// common install mistake).
func checkDevices(c *Config) Problems {
	k := &checker{Line: c.lines.Of}
	add := func(key, msg string) { k.Add(key, "%s", msg) }
	for key, s := range map[string]*SerialConfig{"pbx.serial": c.PBX.Serial, "pms.serial": c.PMS.Serial} {
		if s != nil && s.Device != "" && (key != "pbx.serial" || c.PBX.Transport == "serial") {
			s.CheckDevice(key, add)
		}
	}
	return k.Problems
}
