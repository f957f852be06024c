package tariff_test

import (
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/tariff"
)

func TestCompare(t *testing.T) {
	a := mustParse(t, example)
	// Carrier B: UK at 60 instead of 120, no setup; everything else equal.
	b := mustParse(t, strings.Replace(strings.Replace(example, "rate: 120", "rate: 60", 1), "    setup: 50\n", "", 1))
	calls := []gateway.Call{
		out("9011442079460000", "2026-11-25T10:00:00", 35),                                            // A: 308 (carrier 122); B: 36 s at 60 = 36 → 36+18+100 = 154, tax 13.09 → 14 = 168
		out("96175550134", "2026-11-25T10:00:00", 60),                                                 // national, same in both: 15+8+100 = 123, tax 10.455 → 11 = 134
		out("9011999123456", "2026-11-25T10:00:00", 35),                                               // unknown destination in both
		{Direction: gateway.Outgoing, Dialed: "911", Start: at("2026-11-25T10:00:00"), DurationS: -5}, // cannot be rated
	}
	cmp := tariff.Compare(calls, a, b)
	if len(cmp.Calls) != 4 || cmp.Calls[3].Err == nil {
		t.Fatalf("calls: %+v", cmp.Calls)
	}
	if cmp.Calls[0].A.TotalMinor != 308 || cmp.Calls[0].B.TotalMinor != 168 {
		t.Errorf("UK call: A %d B %d", cmp.Calls[0].A.TotalMinor, cmp.Calls[0].B.TotalMinor)
	}
	if cmp.Total.A.Calls != 3 || cmp.Total.A.TotalMinor != 308+134 || cmp.Total.B.TotalMinor != 168+134 ||
		cmp.Total.A.CarrierMinor != 122+15 || cmp.Total.B.CarrierMinor != 36+15 || cmp.Total.A.Exceptions != 1 || cmp.Total.A.Chargeable != 2 {
		t.Errorf("total: %+v", cmp.Total)
	}
	var keys []string
	for _, g := range cmp.ByClass {
		keys = append(keys, g.Key)
	}
	if strings.Join(keys, ",") != "international,national,unknown" {
		t.Errorf("classes: %v", keys)
	}
	for _, g := range cmp.ByDestination {
		if g.Key == "United Kingdom" && (g.A.TotalMinor != 308 || g.B.TotalMinor != 168) {
			t.Errorf("UK group: %+v", g)
		}
	}
}
