package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"callgate/pbx"
)

// openSource opens the PBX transport the config names: the same call for
// gateway capture and gateway serve.
func openSource(c *Config, log zerolog.Logger, onSilence func(bool)) (pbx.Source, error) {
	f, err := pbx.LookupFormat(c.PBX.Format)
	if err != nil {
		return nil, err
	}
	so := pbx.SourceOptions{
		LengthPrefixed: f.LengthPrefixed,
		StripHighBit:   c.PBX.StripHighBit,
		Silence:        time.Duration(c.PBX.SilenceMinutes) * time.Minute,
		OnSilence:      onSilence,
		Logger:         log,
	}
	if c.PBX.SilenceMinutes == 0 {
		so.Silence = -1 // the alarm is off
	}
	switch p := c.PBX; p.Transport {
	case "serial":
		s := p.Serial
		stop, _ := strconv.ParseFloat(s.StopBits, 64)
		return pbx.OpenSerial(pbx.SerialOptions{
			Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity,
			StopBits: stop, RTSCTS: s.FlowControl == "rts-cts",
		}, so)
	case "tcp-listen":
		return pbx.ListenTCP(pbx.ListenOptions{Address: p.Listen, Allow: p.Allow}, so)
	case "tcp-dial":
		return pbx.DialTCP(pbx.DialOptions{Address: p.Dial, Mitel5000Login: p.Password != "", Mitel5000Password: p.Password}, so)
	case "file":
		return pbx.FollowFile(pbx.FileOptions{Path: c.Resolve(p.File), FromStart: p.FileFromStart}, so)
	}
	return nil, fmt.Errorf("pbx.transport %q is not one of %v", c.PBX.Transport, transports)
}

// parserOptions returns the options of the config's PBX parser.
func parserOptions(c *Config) pbx.Options {
	return pbx.Options{Location: c.Location, Template: c.PBX.Template, CMFields: c.PBX.CMFields}
}

// checkDevices looks for what the config names on this machine, for gateway
// check: the serial ports must exist (a missing USB adapter is the most
// common install mistake).
func checkDevices(c *Config) Problems {
	k := &checker{c: c}
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
			k.add(key, "%s does not exist on this machine: plug in the adapter, or use its /dev/serial/by-id/ name (ls /dev/serial/by-id)", s.Device)
		case fi.Mode()&os.ModeCharDevice == 0:
			k.add(key, "%s is not a serial device", s.Device)
		}
	}
	return k.problems
}
