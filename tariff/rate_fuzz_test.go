package tariff_test

import (
	"testing"
	"time"

	"callgate/gateway"
)

// FuzzRate rates arbitrary calls under the example and the split tariff: the
// rater must never panic, never give a negative amount, and always give a
// total that is the sum of its parts (0 when not chargeable).
func FuzzRate(f *testing.F) {
	tfs := []interface {
		Rate(gateway.Call) (gateway.Charge, error)
	}{mustParse(f, example), mustParse(f, splitTariff)}
	f.Add("9011442079460000", int64(1795420800), 35, uint8(0), false)
	f.Add("0301234567", int64(1797033540), 7200, uint8(1), true)
	f.Add("911", int64(0), 1, uint8(0), false)
	f.Fuzz(func(t *testing.T, dialed string, unix int64, secs int, which uint8, unanswered bool) {
		c := gateway.Call{Direction: gateway.Outgoing, Dialed: dialed, Start: time.Unix(unix%(1<<40), 0).UTC(), DurationS: secs, Answered: gateway.Bool(!unanswered)}
		ch, err := tfs[int(which)%len(tfs)].Rate(c)
		if err != nil {
			if secs >= 0 && secs <= 100_000_000 {
				t.Fatalf("error for a valid call: %v", err)
			}
			return
		}
		for _, v := range []int64{ch.CarrierMinor, ch.MarkupMinor, ch.SurchargeMinor, ch.TaxMinor, ch.TotalMinor, int64(ch.BillableS)} {
			if v < 0 {
				t.Fatalf("negative amount: %+v", ch)
			}
		}
		if ch.TotalMinor != ch.CarrierMinor+ch.MarkupMinor+ch.SurchargeMinor+ch.TaxMinor {
			t.Fatalf("total is not the sum of its parts: %+v", ch)
		}
		if !ch.Chargeable && (ch.TotalMinor != 0 || ch.BillableS != 0) {
			t.Fatalf("not chargeable but charged: %+v", ch)
		}
		if ch.Exception != nil && ch.Chargeable {
			t.Fatalf("exception but chargeable: %+v", ch)
		}
	})
}
