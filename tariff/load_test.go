package tariff_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/tariff"
)

func TestLoadProblems(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"unknown key", "rounding: up", "rounding: up\nroundng: up", []string{"roundng: line 4: unknown key"}},
		{"rate misses a band", "rate: {day: 10, evening: 5, weekend: 5}", "rate: {day: 10, evening: 5}", []string{"destinations[0].rate: line %d: names no rate for band weekend"}},
		{"rate names no band", "rate: {day: 10, evening: 5, weekend: 5}", "rate: {day: 10, evening: 5, weekend: 5, night: 2}", []string{"destinations[0].rate.night: line %d: unknown key; the keys allowed here are weekend, evening, day"}},
		{"prefix twice", `prefix: "44"`, `prefix: "1212"`, []string{`destinations[2].prefix: line 40: prefix "1212" is listed twice in destinations (first as destinations[0])`}},
		{"free prefix twice", `{prefix: "1888", class: toll-free}`, `{prefix: "1800", class: toll-free}`, []string{`free[2].prefix: line 26: prefix "1800" is listed twice in free`}},
		{"percent decimals", `tax_percent: "8.5"`, `tax_percent: "8.5001"`, []string{`guest.tax_percent: line %d: "8.5001" has more than three decimals`}},
		{"negative amount", "surcharge: 100", "surcharge: -100", []string{"guest.surcharge: line %d: -100 is negative"}},
		{"negative percent", `markup_percent: "50"`, `markup_percent: "-5"`, []string{`guest.markup_percent: line %d: "-5" is negative`}},
		{"increment zero", "increments: [30, 6]", "increments: [30, 0]", []string{"destinations[2].increments[1]: line %d: is 0"}},
		{"unknown currency", "currency: USD", "currency: USX", []string{`currency: line %d: "USX" is not an ISO 4217 currency code`}},
		{"bad day", "days: [sat, sun]", "days: [sat, sunday]", []string{`bands[0].days[1]: line %d: "sunday" is not a day`}},
		{"bad time", `from: "18:00"`, `from: "18h00"`, []string{`bands[1].from: line %d: "18h00" is not a time of day`}},
		{"uncovered", "  - name: day\n", "", []string{"bands: line 12: no band covers Monday 08:00"}},
		{"holiday band", "holiday_band: weekend", "holiday_band: feast", []string{`holiday_band: line %d: "feast" is not the name of a band`}},
		{"bad holiday", `"2026-12-25"`, `"2026-12-32"`, []string{`holidays[0]: line %d: "2026-12-32" is not a date`}},
		{"bad rounding", "rounding: up", "rounding: nearest", []string{`rounding: line %d: "nearest" is not one of up, half_up, down`}},
		{"version", "version: 1", "version: 2", []string{`version: line %d: "2" is not a tariff version`}},
		{"prefix not digits", `prefix: "44"`, `prefix: "+44"`, []string{`destinations[2].prefix: line %d: "+44" is not a string of digits`}},
		{"bad edition date", `effective_from: "2027-01-01T00:00:00"`, `effective_from: "next year"`, []string{`versions[0].effective_from: line %d: "next year" is not a local time`}},
		{"several at once", "currency: USD", "currency: USX\nfoo: 1", []string{`currency: line %d: "USX"`, "foo: line 3: unknown key"}},
		{"not yaml", "currency: USD", "currency: [USD", []string{"not valid YAML"}},
		{"unknown key in a destination", `prefix: "44"`, `prefx: "44"`, []string{"destinations[2].prefx: line 40: unknown key (did you mean prefix?); the keys allowed under destinations[2] are class, increments, minimum, name, prefix, rate, setup"}},
		{"unknown key in guest", "surcharge: 100", "surcharg: 100", []string{"guest.surcharg: line %d: unknown key (did you mean surcharge?)"}},
		{"increments not a list", "increments: [30, 6]", "increments: 30", []string{`destinations[2].increments: line %d: is "30", want a list`}},
		{"given twice", "currency: USD", "currency: USD\ncurrency: EUR", []string{"currency: line 3: given twice (first on line 2): keep one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(example, tc.from, tc.to, 1)
			if src == example {
				t.Fatalf("replacing %q changed nothing", tc.from)
			}
			_, err := tariff.Parse([]byte(src))
			var ps tariff.Problems
			if err == nil || (!errors.As(err, &ps) && !strings.Contains(err.Error(), "YAML")) {
				t.Fatalf("err = %v, want problems", err)
			}
			// The problem is on the line the replacement starts on.
			line := strings.Count(src[:strings.Index(src, tc.to)], "\n") + 1
			for _, w := range tc.want {
				if strings.Contains(w, "%d") {
					w = fmt.Sprintf(w, line)
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems:\n%v\nwant one containing %q", err, w)
				}
			}
		})
	}
}

func TestParseAgainIsIndependent(t *testing.T) {
	a := mustParse(t, example)
	b := mustParse(t, strings.Replace(example, "rate: 120", "rate: 60", 1))
	ca, _ := a.Rate(out("9011442079460000", "2026-11-25T10:00:00", 35))
	cb, _ := b.Rate(out("9011442079460000", "2026-11-25T10:00:00", 35))
	if ca.CarrierMinor != 122 || cb.CarrierMinor != 86 {
		t.Errorf("reloading changed the first tariff: %d, %d", ca.CarrierMinor, cb.CarrierMinor)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte(splitTariff))
	f.Add([]byte("version: 1\ncurrency: JPY\nbands: [{name: all}]\ndialing: {international_prefix: '010', country_code: '81'}\ndestinations: [{prefix: '1', name: x, class: y, rate: 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := tariff.Parse(data)
		if err == nil && tf == nil {
			t.Fatal("nil tariff without error")
		}
	})
}

func TestCSVDeck(t *testing.T) {
	path := csvDeck(t, 1000)
	tf, err := tariff.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Zone 5: prefix 15000005, rates weekend 10 offpeak 12 peak 14, [30, 6], setup 20.
	ch, err := tf.Rate(out("000150000051234", "2026-11-25T10:00:00", 40))
	if err != nil {
		t.Fatal(err)
	}
	// 42 s at 14 = 9.8 → half_up 10; +20 setup = 30; markup 35.5 % = 10.65 → 11; +50; tax 19 % of 91 = 17.29 → 17.
	if ch.Destination != "Zone 5" || ch.CarrierMinor != 30 || ch.MarkupMinor != 11 || ch.TaxMinor != 17 || ch.TotalMinor != 108 {
		t.Errorf("%+v", ch)
	}
	dir := filepath.Dir(path)
	for _, tc := range []struct{ csv, want string }{
		{"prefix,name\n44,UK\n", `deck.csv has no "class" column`},
		{"prefix,name,class\n44,UK,intl\n", "deck.csv has neither a rate column nor rate_weekend, rate_offpeak, rate_peak"},
		{"prefix,name,class,rate\n44,UK,intl,x\n", `deck.csv: row 2: rate of band weekend "x" is not a whole number`},
		{"prefix,name,class,rate\n+44,UK,intl,5\n", `deck.csv: row 2: prefix "+44" is not a string of digits`},
		{"prefix,name,class,rate\n44,UK,intl,5\n44,UK2,intl,5\n", `deck.csv: row 3: prefix "44" is listed twice (first for UK)`},
		{"prefix,name,class,rate,first\n44,UK,intl,5,0\n", "increments are at least 1 second"},
		{"prefix,name,class,rate,setup\n44,UK,intl,5,-1\n", `row 2: setup "-1" is not a whole number`},
	} {
		if err := os.WriteFile(filepath.Join(dir, "deck.csv"), []byte(tc.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := tariff.Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.csv, err, tc.want)
		}
	}
	os.Remove(filepath.Join(dir, "deck.csv"))
	if _, err := tariff.Load(path); err == nil || !strings.Contains(err.Error(), "cannot read the destination file") {
		t.Errorf("missing deck: %v", err)
	}
}
