package fias

import (
	"strings"
	"time"

	"callgate/gateway"
	"callgate/internal/serialport"
)

// Config is the pms section of the gateway's config file: how the PMS is
// reached (docs/design.md, "Configuration").
type Config struct {
	Protocol        string             `yaml:"protocol"` // fias
	Address         string             `yaml:"address"`  // host:port of the PMS interface (IFC8 is the TCP server)
	Serial          *serialport.Config `yaml:"serial"`   // instead of address: FIAS over RS-232
	InterfaceFamily string             `yaml:"interface_family"`
	AmountExponent  int                `yaml:"amount_exponent"` // implied decimals in FIAS TA
	CodePage        string             `yaml:"code_page"`
	Posting         PostingConfig      `yaml:"posting"`
	// VendorVersion is FIAS V# in the link description: up to 10 letters,
	// digits and dots.
	VendorVersion string `yaml:"vendor_version"`
	// AnswerTimeoutS is how long a posting waits for the PMS's answer
	// before it is in doubt (at least 30).
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// AliveIntervalS is how long the link may be quiet before the gateway
	// checks the PMS is there (LS, at least 300: Oracle's minimum).
	AliveIntervalS int `yaml:"alive_interval_s"`
	// Transcript is a file that gets every FIAS frame both ways, for the
	// PMS vendor's certification; "" keeps it in the debug log only.
	Transcript string `yaml:"transcript"`
	// Retry sets the engine's waits after the PMS's transient answers.
	Retry RetryConfig `yaml:"retry"`
}

// RetryConfig is pms.retry: how long the poster waits after the PMS did
// not take a posting now (docs/posting-safety.md, "Waiting after a
// transient answer"). Whole seconds.
type RetryConfig struct {
	// RYMinS and RYMaxS bound the wait after RY (busy): RYMinS after the
	// first RY to a posting, doubling while the PMS answers the same
	// posting so, at most RYMaxS. Any other answer starts over.
	RYMinS int `yaml:"ry_min_s"`
	RYMaxS int `yaml:"ry_max_s"`
	// NAPollS is the wait after NA (night audit running); the PMS's NE
	// (the audit's end) cuts it short.
	NAPollS int `yaml:"na_poll_s"`
}

// The bounds of pms.retry's keys, in seconds.
const (
	maxRYMinS  = 600
	maxRYMaxS  = 3600
	maxNAPollS = 3600
)

// Check records the section's problems, under pms.retry.
func (r RetryConfig) Check(k *gateway.Checker) {
	if r.RYMinS < 1 || r.RYMinS > maxRYMinS {
		k.Add("pms.retry.ry_min_s", "%d is not from 1 to %d: it is the seconds the gateway waits before sending a posting again after the PMS answered RY (busy)", r.RYMinS, maxRYMinS)
	}
	switch {
	case r.RYMaxS > maxRYMaxS:
		k.Add("pms.retry.ry_max_s", "%d is more than %d: it is the longest wait, in seconds, between tries of a posting the PMS keeps answering RY (busy)", r.RYMaxS, maxRYMaxS)
	case r.RYMaxS < r.RYMinS:
		k.Add("pms.retry.ry_max_s", "%d is less than pms.retry.ry_min_s (%d): the wait after RY doubles from ry_min_s up to ry_max_s; give ry_max_s at least ry_min_s", r.RYMaxS, r.RYMinS)
	}
	if r.NAPollS < 1 || r.NAPollS > maxNAPollS {
		k.Add("pms.retry.na_poll_s", "%d is not from 1 to %d: it is the seconds the gateway waits before trying again after the PMS answered NA (night audit running)", r.NAPollS, maxNAPollS)
	}
}

// Waits returns the section's waits as durations: after RY the first and
// the longest, after NA.
func (r RetryConfig) Waits() (ryMin, ryMax, naPoll time.Duration) {
	return time.Duration(r.RYMinS) * time.Second, time.Duration(r.RYMaxS) * time.Second, time.Duration(r.NAPollS) * time.Second
}

// PostingConfig holds optional fields of FIAS posting records.
type PostingConfig struct {
	SalesOutlet string `yaml:"sales_outlet"`
	// CallTypes maps tariff classes to FIAS PC codes (default local L,
	// national N, international I, mobile M).
	CallTypes map[string]string `yaml:"call_types"`
}

// DefaultConfig returns the settings a pms section starts from.
func DefaultConfig() Config {
	return Config{
		Protocol:        "fias",
		InterfaceFamily: "CA",
		AmountExponent:  2,
		CodePage:        "windows-1252",
		VendorVersion:   "callgate",
		AnswerTimeoutS:  30,
		AliveIntervalS:  300,
		Retry:           RetryConfig{RYMinS: 2, RYMaxS: 60, NAPollS: 60},
	}
}

var (
	protocols = []string{"fias"}
	// interfaceFamilies are the FIAS IF codes a call-accounting link can announce.
	interfaceFamilies = []string{"CA", "PB"}
	codePages         = []string{"windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
		"windows-1257", "iso-8859-1", "iso-8859-2", "iso-8859-15", "utf-8"}
)

// Check records the section's problems, under pms.
func (p *Config) Check(k *gateway.Checker) {
	k.OneOf("pms.protocol", p.Protocol, protocols)
	switch {
	case p.Address != "" && p.Serial != nil:
		k.Add("pms.serial", "given with pms.address: use one, the TCP address or the serial port")
	case p.Address != "":
		k.HostPort("pms.address", p.Address, true)
	case p.Serial != nil:
		p.Serial.Check("pms.serial", func(key, msg string) { k.Add(key, "%s", msg) })
	default:
		k.Add("pms.address", `missing: give the PMS interface's address (e.g. "10.0.0.20:5010") or a serial: section`)
	}
	k.OneOf("pms.interface_family", p.InterfaceFamily, interfaceFamilies)
	if p.AmountExponent < 0 || p.AmountExponent > 4 {
		k.Add("pms.amount_exponent", "%d is not from 0 to 4: it is the number of implied decimals the PMS expects in amounts", p.AmountExponent)
	}
	k.OneOf("pms.code_page", strings.ToLower(p.CodePage), codePages)
	if so := p.Posting.SalesOutlet; so != "" && (!gateway.IsDigits(so) || len(so) > 5) {
		k.Add("pms.posting.sales_outlet", "%q is not a number of at most 5 digits (FIAS SO)", so)
	}
	p.Retry.Check(k)
	if p.Protocol == "fias" {
		// FIAS's own rules, for keys the checks above leave alone.
		seen := map[string]bool{}
		for _, pr := range k.Problems {
			seen[pr.Key] = true
		}
		for _, pr := range p.FIASOptions().Check() {
			switch key := "pms." + pr.Key; {
			case seen[key], key == "pms.address", key == "pms.serial", key == "pms.interface_family",
				key == "pms.amount_exponent", key == "pms.code_page", key == "pms.posting.sales_outlet":
			default:
				k.Add(key, "%s", pr.Msg)
			}
		}
	}
}

// FIASOptions returns the FIAS link settings of the section (without
// logger, transcript writer, currency digits or the site's time zone,
// Options.Location, which the caller adds).
func (p Config) FIASOptions() Options {
	o := Options{
		Address:         p.Address,
		InterfaceFamily: p.InterfaceFamily,
		VendorVersion:   p.VendorVersion,
		AmountExponent:  p.AmountExponent,
		CodePage:        strings.ToLower(p.CodePage),
		SalesOutlet:     p.Posting.SalesOutlet,
		CallTypes:       p.Posting.CallTypes,
		AnswerTimeout:   time.Duration(p.AnswerTimeoutS) * time.Second,
		AliveInterval:   time.Duration(p.AliveIntervalS) * time.Second,
	}
	if s := p.Serial; s != nil {
		o.Serial = &SerialOptions{Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity, StopBits: s.StopBitsValue()}
	}
	return o
}
