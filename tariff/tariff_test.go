package tariff_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/tariff"
)

// example is a New York hotel's tariff (markup 50 %, surcharge 100 cents,
// tax 8.5 %) with a second edition from 2027.
const example = `version: 1
currency: USD
rounding: up
dialing:
  strip: ["9"]
  international_prefix: "011"
  national_prefix: "1"
  country_code: "1"
  area_code: "212"
  national_number_length: 10
  local_number_length: 7
bands:
  - name: weekend
    days: [sat, sun]
  - name: evening
    days: [mon, tue, wed, thu, fri]
    from: "18:00"
    to: "08:00"
  - name: day
holidays: ["2026-12-25", "2027-01-01"]
holiday_band: weekend
split_at_band_change: false
free:
  - {prefix: "911", class: emergency}
  - {prefix: "1800", class: toll-free}
  - {prefix: "1888", class: toll-free}
destinations:
  - prefix: "1212"
    name: New York local
    class: local
    rate: {day: 10, evening: 5, weekend: 5}
    increments: [60, 60]
    setup: 0
    minimum: 25
  - prefix: "1"
    name: USA and Canada
    class: national
    rate: {day: 15, evening: 10, weekend: 8}
    increments: [60, 6]
  - prefix: "44"
    name: United Kingdom
    class: international
    rate: 120
    increments: [30, 6]
    setup: 50
guest:
  markup_percent: "50"
  surcharge: 100
  tax_percent: "8.5"
  grace_seconds: 30
  classes:
    toll-free: {surcharge: 75}
    emergency: {surcharge: 0}
    local: {markup_percent: "0"}
versions:
  - effective_from: "2027-01-01T00:00:00"
    destinations:
      - {prefix: "44", name: United Kingdom, class: international, rate: 100, increments: [30, 6], setup: 50}
      - {prefix: "1", name: USA and Canada, class: national, rate: 12, increments: [60, 6]}
`

func mustParse(tb testing.TB, src string) *tariff.Tariff {
	tb.Helper()
	t, err := tariff.Parse([]byte(src))
	if err != nil {
		tb.Fatalf("tariff refused:\n%v", err)
	}
	return t
}

func at(s string) time.Time {
	t, err := time.Parse(gateway.WallClockLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func out(dialed, start string, secs int) gateway.Call {
	return gateway.Call{Direction: gateway.Outgoing, Dialed: dialed, Start: at(start), DurationS: secs, Answered: gateway.Bool(true)}
}

// TestWorkedExample works one call through every step (docs/tariff.md "How a
// call is priced"): 35 s to 9-011-44-20-7946-0000 at 10:00 on a weekday under
// example (tax 8.5 %) is 308 cents.
func TestWorkedExample(t *testing.T) {
	tf := mustParse(t, example)
	ch, err := tf.Rate(out("9-011-44-20-7946-0000", "2026-11-25T10:00:00", 35))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ch.MarshalJSON()
	want := `{"class":"international","destination":"United Kingdom","prefix":"44","e164":"442079460000","band":"day","billable_s":36,"chargeable":true,"carrier_minor":122,"markup_minor":61,"surcharge_minor":100,"tax_minor":25,"total_minor":308,"currency":"USD","tariff_version":"base","exception":null}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

type want struct {
	class, dest, band, exception, version string
	billable                              int
	chargeable                            bool
	carrier, markup, surcharge, tax       int64
}

func check(t *testing.T, name string, ch gateway.Charge, w want) {
	t.Helper()
	exc := ""
	if ch.Exception != nil {
		exc = *ch.Exception
	}
	if w.version == "" {
		w.version = "base"
	}
	total := w.carrier + w.markup + w.surcharge + w.tax
	if ch.Class != w.class || ch.Destination != w.dest || exc != w.exception || ch.BillableS != w.billable ||
		ch.Chargeable != w.chargeable || ch.CarrierMinor != w.carrier || ch.MarkupMinor != w.markup ||
		ch.SurchargeMinor != w.surcharge || ch.TaxMinor != w.tax || ch.TotalMinor != total ||
		(w.band != "" && ch.Band != w.band) || ch.TariffVersion != w.version {
		t.Errorf("%s:\n got %+v\nwant %+v (total %d)", name, ch, w, total)
	}
}

func TestRules(t *testing.T) {
	tf := mustParse(t, example)
	// Weekday 2026-11-25 is a Wednesday; 2026-11-28 a Saturday.
	for _, tc := range []struct {
		name string
		call gateway.Call
		want want
	}{
		{"incoming", gateway.Call{Direction: gateway.Incoming, Start: at("2026-11-25T10:00:00"), DurationS: 300}, want{class: "incoming"}},
		{"internal", gateway.Call{Direction: gateway.Internal, Dialed: "415", Start: at("2026-11-25T10:00:00"), DurationS: 300}, want{class: "internal"}},
		{"unanswered keeps class", func() gateway.Call {
			c := out("9011442079460000", "2026-11-25T10:00:00", 0)
			c.Answered = gateway.Bool(false)
			return c
		}(), want{class: "international", dest: "United Kingdom", band: "day"}},
		{"answered null with seconds is charged", func() gateway.Call {
			c := out("9011442079460000", "2026-11-25T10:00:00", 35)
			c.Answered = nil
			return c
		}(), want{class: "international", dest: "United Kingdom", band: "day", billable: 36, chargeable: true, carrier: 122, markup: 61, surcharge: 100, tax: 25}},
		// Local: 7 digits get country and area code; minimum 25 beats 1 min at 10; no markup for local.
		{"local minimum", out("95550134", "2026-11-25T10:00:00", 45), want{class: "local", dest: "New York local", band: "day", billable: 60, chargeable: true, carrier: 25, surcharge: 100, tax: 11}},
		// 10-digit national; evening band wraps past midnight: 23:00 Wednesday.
		{"national evening", out("96175550134", "2026-11-25T23:00:00", 125), want{class: "national", dest: "USA and Canada", band: "evening", billable: 126, chargeable: true, carrier: 21, markup: 11, surcharge: 100, tax: 12}},
		// 07:59:59 Thursday is still evening (the window is Wed 18:00 → Thu 08:00, and Thursday is in days).
		{"evening before 08:00", out("96175550134", "2026-11-26T07:59:59", 60), want{class: "national", dest: "USA and Canada", band: "evening", billable: 60, chargeable: true, carrier: 10, markup: 5, surcharge: 100, tax: 10}},
		// 08:00:00 is day (to is exclusive).
		{"day from 08:00", out("96175550134", "2026-11-26T08:00:00", 60), want{class: "national", dest: "USA and Canada", band: "day", billable: 60, chargeable: true, carrier: 15, markup: 8, surcharge: 100, tax: 11}},
		{"weekend", out("96175550134", "2026-11-28T12:00:00", 60), want{class: "national", dest: "USA and Canada", band: "weekend", billable: 60, chargeable: true, carrier: 8, markup: 4, surcharge: 100, tax: 10}},
		{"holiday", out("96175550134", "2026-12-25T12:00:00", 60), want{class: "national", dest: "USA and Canada", band: "weekend", billable: 60, chargeable: true, carrier: 8, markup: 4, surcharge: 100, tax: 10}},
		// 1 + 10 digits: national prefix.
		{"national prefix", out("912125550134", "2026-11-25T10:00:00", 60), want{class: "local", dest: "New York local", band: "day", billable: 60, chargeable: true, carrier: 25, surcharge: 100, tax: 11}},
		// Grace: 29 s is free, 30 s (== grace) is charged.
		{"under grace", out("9011442079460000", "2026-11-25T10:00:00", 29), want{class: "international", dest: "United Kingdom", band: "day"}},
		{"at grace", out("9011442079460000", "2026-11-25T10:00:00", 30), want{class: "international", dest: "United Kingdom", band: "day", billable: 30, chargeable: true, carrier: 110, markup: 55, surcharge: 100, tax: 23}},
		// Free numbers: bare 911 and 9911 are both emergency; surcharge 0, tax 0.
		{"911", out("911", "2026-11-25T10:00:00", 120), want{class: "emergency", band: "day", billable: 120, chargeable: true}},
		{"9911", out("9911", "2026-11-25T10:00:00", 120), want{class: "emergency", band: "day", billable: 120, chargeable: true}},
		// Toll-free after the strip: surcharge 75 and tax on it (6.375 → 7).
		{"toll-free", out("918005550100", "2026-11-25T10:00:00", 300), want{class: "toll-free", band: "day", billable: 300, chargeable: true, surcharge: 75, tax: 7}},
		{"toll-free under grace", out("918005550100", "2026-11-25T10:00:00", 10), want{class: "toll-free", band: "day"}},
		// Decorations: spaces, *, # and hyphens are dropped.
		{"decorations", out("9 011-44 20*7946#0000", "2026-11-25T10:00:00", 35), want{class: "international", dest: "United Kingdom", band: "day", billable: 36, chargeable: true, carrier: 122, markup: 61, surcharge: 100, tax: 25}},
		{"invalid", out("#*", "2026-11-25T10:00:00", 35), want{class: "invalid", band: "day", exception: "invalid-number"}},
		{"only the access code", out("9", "2026-11-25T10:00:00", 35), want{class: "invalid", band: "day", exception: "invalid-number"}},
		{"unroutable", out("9234", "2026-11-25T10:00:00", 35), want{class: "unknown", band: "day", exception: "unroutable-number"}},
		{"unknown destination", out("9011999123456", "2026-11-25T10:00:00", 35), want{class: "unknown", band: "day", exception: "unknown-destination"}},
		// Editions: the 2027 list from 2027-01-01T00:00:00 exactly.
		{"edition before", out("9011442079460000", "2026-12-31T23:59:59", 35), want{class: "international", dest: "United Kingdom", band: "evening", billable: 36, chargeable: true, carrier: 122, markup: 61, surcharge: 100, tax: 25}},
		{"edition at start", out("9011442079460000", "2027-01-01T00:00:00", 35), want{class: "international", dest: "United Kingdom", band: "weekend", billable: 36, chargeable: true, carrier: 110, markup: 55, surcharge: 100, tax: 23, version: "2027-01-01T00:00:00"}},
		// The 2027 edition has no New York local entry: the 1 prefix wins.
		{"edition replaces list", out("95550134", "2027-03-03T10:00:00", 45), want{class: "national", dest: "USA and Canada", band: "day", billable: 60, chargeable: true, carrier: 12, markup: 6, surcharge: 100, tax: 11, version: "2027-01-01T00:00:00"}},
	} {
		ch, err := tf.Rate(tc.call)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		check(t, tc.name, ch, tc.want)
	}
}

func TestRounding(t *testing.T) {
	// 7 per minute for 30 s = 3.5; 8.5 % tax on it.
	base := strings.Replace(example, "rate: 120", "rate: 7", 1)
	for _, tc := range []struct {
		mode                 string
		carrier, markup, tax int64
	}{
		// carrier 3.5+50 setup; markup 50 % of carrier; tax 8.5 % of carrier+markup+100.
		{"up", 54, 27, 16},      // 3.5→4, +50 = 54; 27; (54+27+100)*0.085 = 15.385 → 16
		{"half_up", 54, 27, 15}, // 3.5→4; 27; 15.385 → 15
		{"down", 53, 26, 15},    // 3.5→3, 53; 26.5→26; (53+26+100)*0.085 = 15.215 → 15
	} {
		tf := mustParse(t, strings.Replace(base, "rounding: up", "rounding: "+tc.mode, 1))
		ch, err := tf.Rate(out("9011442079460000", "2026-11-25T10:00:00", 30))
		if err != nil {
			t.Fatal(err)
		}
		if ch.CarrierMinor != tc.carrier || ch.MarkupMinor != tc.markup || ch.TaxMinor != tc.tax {
			t.Errorf("%s: carrier %d markup %d tax %d, want %d %d %d", tc.mode, ch.CarrierMinor, ch.MarkupMinor, ch.TaxMinor, tc.carrier, tc.markup, tc.tax)
		}
	}
}

func TestMinimumAfterSetup(t *testing.T) {
	src := strings.Replace(example, "    setup: 0\n    minimum: 25", "    setup: 20\n    minimum: 25", 1)
	tf := mustParse(t, src)
	// 1 min local at 10 + setup 20 = 30 ≥ 25: no raise.
	ch, _ := tf.Rate(out("95550134", "2026-11-25T10:00:00", 60))
	if ch.CarrierMinor != 30 {
		t.Errorf("carrier %d, want 30 (setup counts toward the minimum)", ch.CarrierMinor)
	}
}

const splitTariff = `version: 1
currency: EUR
rounding: up
dialing: {international_prefix: "00", national_prefix: "0", country_code: "49"}
bands:
  - {name: night, from: "22:00", to: "06:00"}
  - {name: day}
  - {name: holiday}
holidays: ["2026-12-25"]
holiday_band: holiday
split_at_band_change: true
destinations:
  - {prefix: "49", name: Germany, class: national, rate: {night: 6, day: 12, holiday: 3}, increments: [1, 1]}
`

func TestSplitAtBandChange(t *testing.T) {
	tf := mustParse(t, splitTariff)
	for _, tc := range []struct {
		name    string
		start   string
		secs    int
		carrier int64
		band    string
	}{
		// 21:59:00 for 120 s: 60 s day (12) + 60 s night (6).
		{"day into night", "2026-11-25T21:59:00", 120, 12 + 6, "day"},
		// 05:59:30 for 60 s: 30 s night (3) + 30 s day (6).
		{"night into day", "2026-11-26T05:59:30", 60, 3 + 6, "night"},
		// 23:59:00 on 24 Dec for 120 s: 60 s night (6) + 60 s holiday (3) after midnight.
		{"into a holiday", "2026-12-24T23:59:00", 120, 6 + 3, "night"},
		// Out of the holiday at midnight into night: 60 s holiday (3) + 60 s night (6).
		{"out of a holiday", "2026-12-25T23:59:00", 120, 3 + 6, "holiday"},
		// Three hours from 21:00: 1 h day (720) + 2 h night (720).
		{"long call", "2026-11-25T21:00:00", 3 * 3600, 720 + 720, "day"},
		// No change: one part.
		{"no change", "2026-11-25T10:00:00", 61, 13, "day"}, // 12*61/60 = 12.2 → 13
	} {
		ch, err := tf.Rate(out("0301234567", tc.start, tc.secs))
		if err != nil {
			t.Fatal(err)
		}
		if ch.CarrierMinor != tc.carrier || ch.Band != tc.band {
			t.Errorf("%s: carrier %d band %s, want %d %s", tc.name, ch.CarrierMinor, ch.Band, tc.carrier, tc.band)
		}
	}
	// Each part is rounded by itself: 30 s at 6 (3.0) + 30 s at 12 (6.0) vs 31+29.
	ch, _ := tf.Rate(out("0301234567", "2026-11-26T05:59:29", 60))
	// 31 s night = 3.1 → 4; 29 s day = 5.8 → 6.
	if ch.CarrierMinor != 10 {
		t.Errorf("parts rounded together: carrier %d, want 10", ch.CarrierMinor)
	}
}

func TestExampleTariffs(t *testing.T) {
	uk, err := tariff.Load("../configs/tariffs/uk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-25 is a Wednesday.
	for _, tc := range []struct {
		name string
		call gateway.Call
		want want
	}{
		// 125 s to a UK mobile at peak: 25*125/60 = 52.08 → 52; markup 100 % 52; +50; VAT 20 % of 154 = 30.8 → 31.
		{"mobile", out("907700900123", "2026-11-25T10:00:00", 125), want{class: "mobile", dest: "UK mobile", band: "peak", billable: 125, chargeable: true, carrier: 52, markup: 52, surcharge: 50, tax: 31}},
		// 8-digit London number from 17:59 for 120 s: split 60 s peak (8) + 60 s offpeak (4) = 12; markup 50 % = 6; +50; VAT 13.6 → 14.
		{"london across 18:00", out("979460000", "2026-11-25T17:59:00", 120), want{class: "local", dest: "London", band: "peak", billable: 120, chargeable: true, carrier: 12, markup: 6, surcharge: 50, tax: 14}},
		// Freephone after the access code: surcharge 25, VAT 5.
		{"freephone", out("908001234567", "2026-11-25T10:00:00", 300), want{class: "freephone", band: "peak", billable: 300, chargeable: true, surcharge: 25, tax: 5}},
		{"999", out("999", "2026-11-25T10:00:00", 300), want{class: "emergency", band: "peak", billable: 300, chargeable: true}},
		// France mobile beats France: 61 s → 50*61/60 = 50.83 → 51, +20 setup = 71; markup 71; +50; VAT 38.4 → 38.
		{"france mobile", out("90033612345678", "2026-12-25T10:00:00", 61), want{class: "international", dest: "France mobile", band: "offpeak", billable: 61, chargeable: true, carrier: 71, markup: 71, surcharge: 50, tax: 38}},
		{"under grace", out("907700900123", "2026-11-25T10:00:00", 19), want{class: "mobile", dest: "UK mobile", band: "peak"}},
	} {
		ch, err := uk.Rate(tc.call)
		if err != nil {
			t.Fatal(err)
		}
		check(t, tc.name, ch, tc.want)
	}
	if _, err := tariff.Load("../configs/tariffs/usa.yaml"); err != nil {
		t.Error(err)
	}
	if _, err := tariff.Load("nothere.yaml"); err == nil || !strings.Contains(err.Error(), "cannot read tariff file") {
		t.Errorf("missing file: %v", err)
	}
	_ = os.Stdout
}
