package main

import (
	"strings"
	"testing"
)

func TestReportConfigDefaults(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	o := c.reportOptions()
	th := o.Thresholds
	if o.GoS != 0.01 || o.CallerPrefixDigits != 3 || len(o.TrunkGroups) != 0 || o.MinorDigits == nil || th.LongCallMinutes != 60 || th.CostlyMinor != 5000 ||
		th.ShortCallS != 5 || th.UnusualFrom != 1 || th.UnusualTo != 5 || strings.Join(th.PremiumClasses, ",") != "premium" {
		t.Errorf("defaults: %+v", o)
	}
}

func TestReportConfig(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig+`report:
  trunk_groups:
    - {name: pstn, trunks: ["9001-9008"], size: 8}
    - {name: sip, trunks: [T12, T13], size: 30}
  gos: "0.5%"
  exceptions: {long_call_minutes: 30, costly_minor: 2500, unusual_hours: "22-06", premium_classes: [premium, directory]}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := c.reportOptions()
	if len(o.TrunkGroups) != 2 || o.TrunkGroups[1].Size != 30 || !o.TrunkGroups[0].Contains("9005") || o.TrunkGroups[0].Contains("9009") ||
		o.GoS != 0.005 || o.Thresholds.UnusualFrom != 22 || o.Thresholds.UnusualTo != 6 || o.Thresholds.CostlyMinor != 2500 {
		t.Errorf("%+v", o)
	}
	_, err = LoadConfig(writeConfig(t, goodConfig+`report:
  trunk_groups:
    - {name: pstn, size: -1}
    - {name: pstn, trunks: [""]}
  gos: 2
  caller_prefix_digits: 0
  exceptions: {long_call_minutes: -1, costly_minor: -5, short_call_s: -2, unusual_hours: "25-3"}
`))
	keys := map[string]bool{}
	for _, p := range problemsOf(t, err) {
		keys[p.Key] = true
		if p.Line == 0 {
			t.Errorf("%s has no line", p)
		}
	}
	for _, k := range []string{"report.trunk_groups[0].trunks", "report.trunk_groups[0].size", "report.trunk_groups[1].name",
		"report.trunk_groups[1].trunks[0]", "report.gos", "report.caller_prefix_digits", "report.exceptions.long_call_minutes",
		"report.exceptions.costly_minor", "report.exceptions.short_call_s", "report.exceptions.unusual_hours"} {
		if !keys[k] {
			t.Errorf("no problem for %s (got %v)", k, keys)
		}
	}
}
