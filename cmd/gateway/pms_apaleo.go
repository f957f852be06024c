package main

import (
	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/tariff"
)

// apaleo: idempotent, each posting's reference is its Idempotency-Key
// (docs/pms-apaleo.md).
func init() {
	registerPMS(cloudPMS("apaleo", gateway.CapabilityIdempotent, apaleo.DefaultConfig, (*apaleo.Config).Check,
		func(c *apaleo.Config, env pmsEnv) (gateway.PMSLink, error) {
			return apaleo.Open(apaleo.Options{Config: *c, Logger: env.Logger, MinorDigits: tariff.MinorDigits})
		}))
}
