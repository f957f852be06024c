package main

import (
	"fmt"
	"os"

	"callgate/gateway"
	"callgate/internal/yamlstrict"
	"callgate/pms/fias"
	"callgate/tariff"
)

// FIAS (OPERA through IFC8, Suite8, protel's FIAS interface): blind, the
// posting number is its reference (docs/fias.md).
func init() {
	registerPMS(&pmsProtocol{
		name:       "fias",
		capability: gateway.CapabilityBlind,
		keys:       yamlKeys(fias.Config{}),
		decode:     func(c *Config, data []byte) yamlstrict.Result { return decodePMS(data, &c.PMS) },
		check:      func(c *Config, k *checker) { c.PMS.Check(k) },
		engine: func(c *Config, e *gateway.Engine) {
			e.RetryMin, e.RetryMax, e.NightAuditPoll = c.PMS.Retry.Waits()
		},
		open: openFIAS,
	})
}

func openFIAS(c *Config, env pmsEnv) (gateway.PMSLink, error) {
	o := c.PMS.FIASOptions()
	o.MinorDigits = tariff.MinorDigits
	o.Location = c.Location // link records' DA/TI are the site's wall clock
	o.Logger = env.Logger   // the adapter names itself: component pms
	if c.PMS.Transcript != "" {
		f, err := os.OpenFile(c.Resolve(c.PMS.Transcript), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, fmt.Errorf("pms.transcript: %w", unwrapPathError(err))
		}
		*env.Closers = append(*env.Closers, f.Close)
		o.Transcript = f
	}
	return fias.Open(o)
}
