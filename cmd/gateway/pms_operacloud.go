package main

import (
	"callgate/gateway"
	"callgate/pms/operacloud"
	"callgate/tariff"
)

// OPERA Cloud through OHIP: lookup, each posting's reference in its
// charge's postingReference (docs/pms-operacloud.md).
func init() {
	registerPMS(cloudPMS("opera-cloud", gateway.CapabilityLookup, operacloud.DefaultConfig, (*operacloud.Config).Check,
		func(c *operacloud.Config, env pmsEnv) (gateway.PMSLink, error) {
			return operacloud.Open(operacloud.Options{Config: *c, Logger: env.Logger, MinorDigits: tariff.MinorDigits})
		}))
}
