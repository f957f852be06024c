package main

import (
	"callgate/gateway"
	"callgate/pms/mews"
	"callgate/tariff"
)

// Mews: lookup, each posting's reference in its order item's
// ExternalIdentifier (docs/pms-mews.md).
func init() {
	registerPMS(cloudPMS("mews", gateway.CapabilityLookup, mews.DefaultConfig, (*mews.Config).Check,
		func(c *mews.Config, env pmsEnv) (gateway.PMSLink, error) {
			return mews.Open(mews.Options{Config: *c, Logger: env.Logger, MinorDigits: tariff.MinorDigits, Location: env.Location})
		}))
}
