package report

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func TestConfigOptions(t *testing.T) {
	o := DefaultConfig().Options(time.UTC, gateway.RoomMap{Same: true}, nil)
	th := o.Thresholds
	if o.GoS != 0.01 || o.CallerPrefixDigits != 3 || len(o.TrunkGroups) != 0 || th.LongCallMinutes != 60 || th.CostlyMinor != 5000 ||
		th.ShortCallS != 5 || th.UnusualFrom != 1 || th.UnusualTo != 5 || strings.Join(th.PremiumClasses, ",") != "premium" {
		t.Errorf("defaults: %+v", o)
	}
	if ps := DefaultConfig().Problems(); len(ps) != 0 {
		t.Errorf("the defaults have problems: %v", ps)
	}
	c := DefaultConfig()
	c.TrunkGroups = []TrunkGroupConfig{{Name: "pstn", Trunks: []string{"9001-9008"}, Size: 8}, {Name: "sip", Trunks: []string{"T12", "T13"}, Size: 30}}
	c.GoS, c.Exceptions.UnusualHours, c.Exceptions.CostlyMinor = "0.5%", "22-06", 2500
	o = c.Options(time.UTC, gateway.RoomMap{}, nil)
	if len(o.TrunkGroups) != 2 || o.TrunkGroups[1].Size != 30 || !o.TrunkGroups[0].Contains("9005") || o.TrunkGroups[0].Contains("9009") ||
		o.GoS != 0.005 || o.Thresholds.UnusualFrom != 22 || o.Thresholds.UnusualTo != 6 || o.Thresholds.CostlyMinor != 2500 {
		t.Errorf("%+v", o)
	}
}

func TestConfigProblems(t *testing.T) {
	c := Config{
		TrunkGroups:        []TrunkGroupConfig{{Name: "pstn", Size: -1}, {Name: "pstn", Trunks: []string{""}}, {Trunks: []string{"1"}}},
		GoS:                "2",
		CallerPrefixDigits: 0,
		Exceptions:         ExceptionsConfig{LongCallMinutes: -1, CostlyMinor: -5, ShortCallS: -2, UnusualHours: "25-3"},
		Carriers:           []string{"b.yaml", " "},
	}
	got := map[string]string{}
	for _, p := range c.Problems() {
		got[p.Key] = p.Msg
	}
	for key, want := range map[string]string{
		"report.trunk_groups[0].trunks":       "missing: list the group's trunks",
		"report.trunk_groups[0].size":         "-1 is negative",
		"report.trunk_groups[1].name":         `"pstn" names two groups`,
		"report.trunk_groups[1].trunks[0]":    "is empty",
		"report.trunk_groups[2].name":         "missing: give the group a name",
		"report.gos":                          `"2" is not a blocking probability`,
		"report.caller_prefix_digits":         "0 is not from 1 to 15",
		"report.exceptions.long_call_minutes": "-1 is negative",
		"report.exceptions.costly_minor":      "-5 is negative",
		"report.exceptions.short_call_s":      "-2 is negative",
		"report.exceptions.unusual_hours":     `"25-3" is not a range of hours`,
	} {
		t.Run(key, func(t *testing.T) {
			if !strings.Contains(got[key], want) {
				t.Errorf("%q, want one containing %q", got[key], want)
			}
		})
	}
	if len(got) != 11 {
		t.Errorf("%d problems: %v", len(got), got)
	}
}

func TestParseGoSAndHours(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{{"0.01", 0.01, true}, {"1%", 0.01, true}, {" 0.5% ", 0.005, true}, {"0", 0, false}, {"1", 0, false}, {"100%", 0, false}, {"x", 0, false}} {
		t.Run("gos "+c.in, func(t *testing.T) {
			got, err := ParseGoS(c.in)
			if (err == nil) != c.ok || c.ok && got != c.want {
				t.Errorf("%v %v", got, err)
			}
		})
	}
	for _, c := range []struct {
		in       string
		from, to int
		ok       bool
	}{{"", 0, 0, true}, {"01-05", 1, 5, true}, {"1-5", 1, 5, true}, {"22-06", 22, 6, true}, {"20-24", 20, 0, true}, {"25-3", 0, 0, false}, {"01-5", 0, 0, false}, {"night", 0, 0, false}} {
		t.Run("hours "+c.in, func(t *testing.T) {
			from, to, err := ParseHours(c.in)
			if (err == nil) != c.ok || from != c.from || to != c.to {
				t.Errorf("%d %d %v", from, to, err)
			}
		})
	}
}
