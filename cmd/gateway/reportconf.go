package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"callgate/gateway/report"
	"callgate/tariff"
)

// ReportConfig holds the settings of gateway report and gateway export:
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
type ReportConfig struct {
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

func defaultReportConfig() ReportConfig {
	th := report.DefaultThresholds()
	return ReportConfig{GoS: "1%", CallerPrefixDigits: 3, Exceptions: ExceptionsConfig{
		LongCallMinutes: th.LongCallMinutes, CostlyMinor: th.CostlyMinor, ShortCallS: th.ShortCallS,
		UnusualHours: fmt.Sprintf("%02d-%02d", th.UnusualFrom, th.UnusualTo), PremiumClasses: th.PremiumClasses}}
}

func (c *Config) validateReport(k *checker) {
	r := &c.Report
	seen := map[string]bool{}
	for i, g := range r.TrunkGroups {
		key := fmt.Sprintf("report.trunk_groups[%d]", i)
		if strings.TrimSpace(g.Name) == "" {
			k.add(key+".name", "missing: give the group a name, such as pstn")
		} else if seen[g.Name] {
			k.add(key+".name", "%q names two groups: give each its own", g.Name)
		}
		seen[g.Name] = true
		if len(g.Trunks) == 0 {
			k.add(key+".trunks", `missing: list the group's trunks as the PBX prints them, or ranges such as "9001-9008"`)
		}
		for j, t := range g.Trunks {
			if strings.TrimSpace(t) == "" {
				k.add(fmt.Sprintf("%s.trunks[%d]", key, j), "is empty: give a trunk as the PBX prints it")
			}
		}
		if g.Size < 0 {
			k.add(key+".size", "%d is negative: give the number of trunks in the group, or leave it out if unknown", g.Size)
		}
	}
	if _, err := parseGoS(r.GoS); err != nil {
		k.add("report.gos", "%q is not a blocking probability between 0 and 1, like 0.01 or 1%%", r.GoS)
	}
	if r.CallerPrefixDigits < 1 || r.CallerPrefixDigits > 15 {
		k.add("report.caller_prefix_digits", "%d is not from 1 to 15", r.CallerPrefixDigits)
	}
	e := &r.Exceptions
	if e.LongCallMinutes < 0 {
		k.add("report.exceptions.long_call_minutes", "%d is negative: give minutes, or 0 to list no long calls", e.LongCallMinutes)
	}
	if e.CostlyMinor < 0 {
		k.add("report.exceptions.costly_minor", "%d is negative: give an amount in minor units (5000 for 50.00), or 0 to list no costly calls", e.CostlyMinor)
	}
	if e.ShortCallS < 0 {
		k.add("report.exceptions.short_call_s", "%d is negative: give seconds, or 0 to list no short calls", e.ShortCallS)
	}
	if _, _, err := parseHours(e.UnusualHours); err != nil {
		k.add("report.exceptions.unusual_hours", "%v", err)
	}
	for i, path := range r.Carriers {
		key := fmt.Sprintf("report.carriers[%d]", i)
		if strings.TrimSpace(path) == "" {
			k.add(key, "is empty: give the path of a tariff file")
			continue
		}
		k.tariffAt(key, c.Resolve(path))
	}
}

// carrierTariffs loads the tariff files of report.carriers, each named by
// its file name, for the carriers report.
func (c *Config) carrierTariffs() ([]report.NamedRater, error) {
	return loadCarriers(c.Resolve, c.Report.Carriers)
}

// loadCarriers loads alternative tariff files for the carriers report; a
// file that does not load is an error naming it.
func loadCarriers(resolve func(string) string, paths []string) ([]report.NamedRater, error) {
	var out []report.NamedRater
	for _, path := range paths {
		tf, err := tariff.Load(resolve(path))
		if err != nil {
			return nil, fmt.Errorf("alternative tariff %s: %w", path, err)
		}
		out = append(out, report.NamedRater{Name: filepath.Base(path), Rater: tf})
	}
	return out, nil
}

// parseHours reads "01-05": from 01:00 to before 05:00 (wrapping past
// midnight when the first is larger: "22-06"); "" is none.
func parseHours(s string) (int, int, error) {
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

// reportOptions maps the config onto the report options, with the
// tariff's amount digits (dates and alternative tariffs are the caller's).
func (c *Config) reportOptions() report.Options {
	r := c.Report
	gos, _ := parseGoS(r.GoS)
	from, to, _ := parseHours(r.Exceptions.UnusualHours)
	o := report.Options{Location: c.Location, MinorDigits: tariff.MinorDigits, Rooms: c.Rooms.RoomMap(), GoS: gos, CallerPrefixDigits: r.CallerPrefixDigits,
		Thresholds: report.Thresholds{LongCallMinutes: r.Exceptions.LongCallMinutes, CostlyMinor: r.Exceptions.CostlyMinor,
			ShortCallS: r.Exceptions.ShortCallS, UnusualFrom: from, UnusualTo: to, PremiumClasses: r.Exceptions.PremiumClasses}}
	for _, g := range r.TrunkGroups {
		o.TrunkGroups = append(o.TrunkGroups, report.TrunkGroup{Name: g.Name, Trunks: g.Trunks, Size: g.Size})
	}
	return o
}
