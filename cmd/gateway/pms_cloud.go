package main

import (
	"time"

	"callgate/gateway"
	"callgate/internal/yamlstrict"
)

// A cloud PMS adapter (pms/operacloud, pms/mews, pms/apaleo) is wired with
// one file, cmd/gateway/pms_<name>.go, that registers cloudPMS(...) from
// what its package exports:
//
//	func init() {
//		registerPMS(cloudPMS("apaleo", gateway.CapabilityIdempotent, apaleo.DefaultConfig, (*apaleo.Config).Check,
//			func(c *apaleo.Config, env pmsEnv) (gateway.PMSLink, error) {
//				return apaleo.Open(apaleo.Options{Config: *c, Logger: env.Logger})
//			}))
//	}
//
// Its pms section is the adapter's Config (protocol, base_url, property,
// auth, charge, poll_s, answer_timeout_s and its own keys) and lost_answer,
// the engine's limits for a posting whose answer was lost.

// LostAnswerConfig is pms.lost_answer for a lookup or idempotent PMS: how
// the engine resolves a posting whose answer was lost
// (docs/posting-safety.md "Lookup and idempotent links"). Whole seconds.
type LostAnswerConfig struct {
	// GraceS is the wait before the first lookup (lookup PMSs): a request
	// that timed out may still be booked.
	GraceS int `yaml:"grace_s"`
	// LookupTries is how many lookups the PMS may fail to answer before
	// the posting is in doubt (lookup PMSs).
	LookupTries int `yaml:"lookup_tries"`
	// LimitS bounds the resolving: on a lookup PMS from its start, on an
	// idempotent PMS from the posting's first sending (the key's age: keep
	// it well inside the time the PMS keeps a key).
	LimitS int `yaml:"limit_s"`
}

// DefaultLostAnswer returns pms.lost_answer's defaults: 30 s, 5 lookups,
// 15 min.
func DefaultLostAnswer() LostAnswerConfig {
	return LostAnswerConfig{GraceS: 30, LookupTries: 5, LimitS: 900}
}

// The bounds of pms.lost_answer's keys.
const (
	maxGraceS      = 600
	maxLookupTries = 100
	// maxLimitS is an hour: longer holds every posting behind the one
	// resolved (they wait in order), and an idempotency key is kept for a
	// limited time by the PMS.
	maxLimitS = 3600
)

// Check records the section's problems, under pms.lost_answer.
func (l LostAnswerConfig) Check(k *checker) {
	if l.GraceS < 1 || l.GraceS > maxGraceS {
		k.Add("pms.lost_answer.grace_s", "%d is not from 1 to %d: it is the seconds the gateway waits, after a posting's answer was lost, before it asks the PMS whether the posting is booked", l.GraceS, maxGraceS)
	}
	if l.LookupTries < 1 || l.LookupTries > maxLookupTries {
		k.Add("pms.lost_answer.lookup_tries", "%d is not from 1 to %d: it is how many times the PMS may fail to answer whether a posting is booked before the posting goes to the night auditor as in doubt", l.LookupTries, maxLookupTries)
	}
	if l.LimitS < l.GraceS || l.LimitS > maxLimitS {
		k.Add("pms.lost_answer.limit_s", "%d is not from grace_s (%d) to %d: it is the seconds the gateway keeps proving what became of a posting whose answer was lost (the postings behind it wait) before it goes to the night auditor as in doubt", l.LimitS, l.GraceS, maxLimitS)
	}
}

// apply sets the engine's limits.
func (l LostAnswerConfig) apply(e *gateway.Engine) {
	e.LookupGrace = time.Duration(l.GraceS) * time.Second
	e.LookupTries = l.LookupTries
	e.ResolveLimit = time.Duration(l.LimitS) * time.Second
}

// cloudSection is a cloud PMS's pms section: the adapter's config and
// lost_answer.
type cloudSection[C any] struct {
	Config     C                `yaml:",inline"`
	LostAnswer LostAnswerConfig `yaml:"lost_answer"`
}

// cloudPMS makes the pmsProtocols entry of a cloud PMS adapter: name is its
// pms.protocol, capability what its link declares, def its DefaultConfig,
// check its Config's Check (keys under "pms."), open opens its link. Its
// Config resolves its secret and token files' paths (ResolvePaths).
func cloudPMS[C any, P interface {
	*C
	ResolvePaths(func(string) string)
}](name string, capability gateway.PostCapability, def func() C, check func(*C, *gateway.Checker),
	open func(c *C, env pmsEnv) (gateway.PMSLink, error)) *pmsProtocol {
	section := func(c *Config) *cloudSection[C] {
		s, _ := c.PMSCloud.(*cloudSection[C])
		if s == nil { // not read (a config made in code): the defaults
			s = &cloudSection[C]{Config: def(), LostAnswer: DefaultLostAnswer()}
			c.PMSCloud = s
		}
		return s
	}
	return &pmsProtocol{
		name:       name,
		capability: capability,
		keys:       yamlKeys(cloudSection[C]{}),
		decode: func(c *Config, data []byte) yamlstrict.Result {
			s := &cloudSection[C]{Config: def(), LostAnswer: DefaultLostAnswer()}
			c.PMSCloud = s
			r := decodePMS(data, s)
			// Secret and token files are relative to the config file, as
			// every file it names: serve runs from / under systemd.
			P(&s.Config).ResolvePaths(c.Resolve)
			return r
		},
		check: func(c *Config, k *checker) {
			s := section(c)
			check(&s.Config, k)
			s.LostAnswer.Check(k)
		},
		engine: func(c *Config, e *gateway.Engine) { section(c).LostAnswer.apply(e) },
		open:   func(c *Config, env pmsEnv) (gateway.PMSLink, error) { return open(&section(c).Config, env) },
	}
}
