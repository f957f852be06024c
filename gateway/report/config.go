package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// Config is the report section of the config file: the settings of gateway
// report, gateway export, the scheduled reports and the console's reports:
//
//	report:
//	  trunk_groups:                 # the trunk groups and their sizes
//	    - {name: pstn, trunks: ["9001-9008"], size: 8}
//	    - {name: sip, trunks: ["T12", "T13"], size: 30}
//	  gos: 1%                        # the target grade of service for sizing
//	  caller_prefix_digits: 3        # caller-areas: the digits of a caller ID that make its area
//	  exceptions: {long_call_minutes: 60, costly_minor: 5000, short_call_s: 5,
//	               unusual_hours: "01-05", premium_classes: [premium]}
//	  carriers: [tariffs/carrier-b.yaml]  # alternative tariffs for the carriers report
type Config struct {
	TrunkGroups        []TrunkGroupConfig `yaml:"trunk_groups"`
	GoS                string             `yaml:"gos"`
	CallerPrefixDigits int                `yaml:"caller_prefix_digits"`
	Exceptions         ExceptionsConfig   `yaml:"exceptions"`
	// Carriers are the tariff files (relative to the config file) the
	// carriers report compares the actual cost with, when --tariff names
	// none: what gateway report carriers, its schedules and the console's
	// /reports use.
	Carriers []string `yaml:"carriers"`
}

// TrunkGroupConfig is one trunk group: the trunks as the PBX prints them
// (or numeric ranges "9001-9008") and how many trunks the group has.
type TrunkGroupConfig struct {
	Name   string   `yaml:"name"`
	Trunks []string `yaml:"trunks"`
	Size   int      `yaml:"size"`
}

// ExceptionsConfig holds the thresholds of the exceptions report.
type ExceptionsConfig struct {
	LongCallMinutes int      `yaml:"long_call_minutes"` // a call longer than this is long
	CostlyMinor     int64    `yaml:"costly_minor"`      // a guest charge above this (minor units: 5000 is 50.00) is costly
	ShortCallS      int      `yaml:"short_call_s"`      // an answered outgoing call this short is a likely misdial
	UnusualHours    string   `yaml:"unusual_hours"`     // "01-05": calls from 01:00 to before 05:00
	PremiumClasses  []string `yaml:"premium_classes"`   // tariff classes that are premium
}

// DefaultConfig is the report section a config file starts from.
func DefaultConfig() Config {
	th := DefaultThresholds()
	return Config{GoS: "1%", CallerPrefixDigits: 3, Exceptions: ExceptionsConfig{
		LongCallMinutes: th.LongCallMinutes, CostlyMinor: th.CostlyMinor, ShortCallS: th.ShortCallS,
		UnusualHours: fmt.Sprintf("%02d-%02d", th.UnusualFrom, th.UnusualTo), PremiumClasses: th.PremiumClasses}}
}

// Problems checks the section; each problem's key is under "report." and
// its line is the caller's to find. The carriers' tariff files are the
// caller's to check (this package reads no tariff).
func (r Config) Problems() []gateway.Problem {
	var ps []gateway.Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, gateway.Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i, g := range r.TrunkGroups {
		key := fmt.Sprintf("report.trunk_groups[%d]", i)
		if strings.TrimSpace(g.Name) == "" {
			add(key+".name", "missing: give the group a name, such as pstn")
		} else if seen[g.Name] {
			add(key+".name", "%q names two groups: give each its own", g.Name)
		}
		seen[g.Name] = true
		if len(g.Trunks) == 0 {
			add(key+".trunks", `missing: list the group's trunks as the PBX prints them, or ranges such as "9001-9008"`)
		}
		for j, t := range g.Trunks {
			if strings.TrimSpace(t) == "" {
				add(fmt.Sprintf("%s.trunks[%d]", key, j), "is empty: give a trunk as the PBX prints it")
			}
		}
		if g.Size < 0 {
			add(key+".size", "%d is negative: give the number of trunks in the group, or leave it out if unknown", g.Size)
		}
	}
	if _, err := ParseGoS(r.GoS); err != nil {
		add("report.gos", "%q is not a blocking probability between 0 and 1, like 0.01 or 1%%", r.GoS)
	}
	if r.CallerPrefixDigits < 1 || r.CallerPrefixDigits > 15 {
		add("report.caller_prefix_digits", "%d is not from 1 to 15", r.CallerPrefixDigits)
	}
	e := &r.Exceptions
	if e.LongCallMinutes < 0 {
		add("report.exceptions.long_call_minutes", "%d is negative: give minutes, or 0 to list no long calls", e.LongCallMinutes)
	}
	if e.CostlyMinor < 0 {
		add("report.exceptions.costly_minor", "%d is negative: give an amount in minor units (5000 for 50.00), or 0 to list no costly calls", e.CostlyMinor)
	}
	if e.ShortCallS < 0 {
		add("report.exceptions.short_call_s", "%d is negative: give seconds, or 0 to list no short calls", e.ShortCallS)
	}
	if _, _, err := ParseHours(e.UnusualHours); err != nil {
		add("report.exceptions.unusual_hours", "%v", err)
	}
	return ps
}

// Options maps the section onto the report options, for the site's zone,
// rooms and currency digits (dates and alternative tariffs are the
// caller's).
func (r Config) Options(loc *time.Location, rooms gateway.RoomMap, digits func(currency string) (int, bool)) Options {
	gos, _ := ParseGoS(r.GoS)
	from, to, _ := ParseHours(r.Exceptions.UnusualHours)
	o := Options{Location: loc, MinorDigits: digits, Rooms: rooms, GoS: gos, CallerPrefixDigits: r.CallerPrefixDigits,
		Thresholds: Thresholds{LongCallMinutes: r.Exceptions.LongCallMinutes, CostlyMinor: r.Exceptions.CostlyMinor,
			ShortCallS: r.Exceptions.ShortCallS, UnusualFrom: from, UnusualTo: to, PremiumClasses: r.Exceptions.PremiumClasses}}
	for _, g := range r.TrunkGroups {
		o.TrunkGroups = append(o.TrunkGroups, TrunkGroup{Name: g.Name, Trunks: g.Trunks, Size: g.Size})
	}
	return o
}

// ParseHours reads "01-05": from 01:00 to before 05:00 (wrapping past
// midnight when the first is larger: "22-06"); "" is none.
func ParseHours(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	var from, to int
	if n, err := fmt.Sscanf(s, "%d-%d", &from, &to); err != nil || n != 2 || from < 0 || from > 23 || to < 0 || to > 24 ||
		fmt.Sprintf("%02d-%02d", from, to) != s && fmt.Sprintf("%d-%d", from, to) != s {
		return 0, 0, fmt.Errorf("%q is not a range of hours like 01-05 (from 01:00 to before 05:00)", s)
	}
	return from, to % 24, nil
}

// ParseGoS reads a grade of service as a fraction (0.01) or a percentage (1%).
func ParseGoS(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v <= 0 || v >= 1 {
		return 0, fmt.Errorf("%q is not a blocking probability between 0 and 1, like 0.01 or 1%%", s)
	}
	return v, nil
}
