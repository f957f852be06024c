package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// TestFraudRulesOnAMonth runs the rules over a generated month of a 60-room
// hotel: on the clean traffic no rule fires; with the five planted cases,
// each is caught, once, naming its extension and rule, and nothing else is.
func TestFraudRulesOnAMonth(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, seed := range []int64{1, 2, 3} {
		clean, _ := gatewaytest.GenerateMonth(seed, start, false)
		c := gateway.NewFraudChecker(gatewaytest.TrafficRules, gatewaytest.TrafficRooms)
		for i := range clean {
			if hits := c.Check(gateway.EntryID(i+1), &clean[i].Call, &clean[i].Charge); len(hits) > 0 {
				t.Fatalf("seed %d: clean traffic fired %s on extension %s: %s", seed, hits[0].Rule, hits[0].Extension,
					hits[0].Text(func(m int64, c string) string { return fmt.Sprint(m, c) }))
			}
		}
		if len(clean) < 30*60 {
			t.Fatalf("seed %d: only %d calls in the month", seed, len(clean))
		}
		calls, planted := gatewaytest.GenerateMonth(seed, start, true)
		c = gateway.NewFraudChecker(gatewaytest.TrafficRules, gatewaytest.TrafficRooms)
		var got []string
		for i := range calls {
			for _, h := range c.Check(gateway.EntryID(i+1), &calls[i].Call, &calls[i].Charge) {
				if h.New {
					got = append(got, fmt.Sprintf("%s %s day %d", h.Extension, h.Rule, h.First.Day()))
				}
				if len(h.Calls) == 0 || h.Count == 0 || h.AmountMinor <= 0 {
					t.Errorf("hit %+v names no calls or cost", h)
				}
				for _, cl := range h.Calls {
					if strings.Count(cl.Dialed, "x") < len(cl.Dialed)-4 {
						t.Errorf("a hit names a whole number: %s", cl.Dialed)
					}
				}
			}
		}
		var want []string
		for _, p := range planted {
			want = append(want, fmt.Sprintf("%s %s day %d", p.Extension, p.Rule, p.Day))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("seed %d: caught\n%s\nwant\n%s", seed, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// rated makes an outgoing rated call from ext at the wall-clock time at
// (UTC site), of class, secs long, costing total.
func rated(ext, dialed string, at time.Time, secs int, class string, total int64) (*gateway.Call, *gateway.Charge) {
	c := &gateway.Call{Extension: ext, Dialed: dialed, Start: at, StartUTC: at, DurationS: secs, Direction: gateway.Outgoing, Answered: gateway.Bool(secs > 0)}
	e164 := strings.TrimPrefix(dialed, "011")
	return c, &gateway.Charge{Class: class, E164: e164, TotalMinor: total, Currency: "USD", Chargeable: true}
}

func TestFraudCheckerRules(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	rooms := gateway.RoomMap{Same: true, NotRooms: []gateway.ExtensionRange{{From: "200", To: "299"}}}
	type call struct {
		ext, dialed string
		min, secs   int // start minutes after t0, seconds
		class       string
		total       int64
		want        string // the hits, "rule/new" or "rule" comma-separated
	}
	for _, tc := range []struct {
		name  string
		rules gateway.FraudRules
		calls []call
	}{
		{"international per hour fires on the 4th, once", gateway.FraudRules{InternationalPerHour: 3}, []call{
			{"101", "0114420", 0, 60, "international", 100, ""},
			{"101", "0114420", 10, 60, "international", 100, ""},
			{"101", "16175550100", 15, 60, "national", 10, ""},
			{"101", "0114420", 20, 60, "international", 100, ""},
			{"102", "0114420", 25, 60, "international", 100, ""},
			{"101", "0114420", 30, 60, "international", 100, "international_per_hour/new"},
			{"101", "0114420", 40, 60, "international", 100, "international_per_hour"},
			// 82 minutes on, the first three left the window: 3 in it.
			{"101", "0114420", 82, 60, "international", 100, ""},
			// Over two hours after the last firing: a new episode.
			{"101", "0114420", 165, 1, "international", 100, ""},
			{"101", "0114420", 166, 1, "international", 100, ""},
			{"101", "0114420", 167, 1, "international", 100, ""},
			{"101", "0114420", 168, 1, "international", 100, "international_per_hour/new"},
		}},
		{"cost per hour sums the window", gateway.FraudRules{CostPerHour: 1000}, []call{
			{"103", "16175550100", 0, 60, "national", 600, ""},
			{"103", "16175550100", 30, 60, "national", 400, ""},
			{"103", "16175550100", 50, 60, "national", 1, "cost_per_hour/new"},
			{"103", "16175550100", 200, 60, "national", 999, ""},
		}},
		{"night is for extensions that are not rooms", gateway.FraudRules{NightFrom: 0, NightTo: 360, PremiumClasses: []string{"premium"}}, []call{
			{"205", "0114420", 0, 60, "international", 100, "night/new"},
			{"101", "0114420", 0, 60, "international", 100, ""},
			{"205", "19005550100", 10, 60, "premium", 100, "night"},
			{"205", "16175550100", 20, 60, "national", 100, ""},
			{"205", "0114420", 300, 60, "international", 100, ""}, // 06:00: outside
		}},
		{"long calls and destinations", gateway.FraudRules{LongCallMinutes: 60, Destinations: []string{"882"}}, []call{
			{"104", "16175550100", 0, 3601, "national", 100, "long_call_minutes/new"},
			{"104", "16175550100", 0, 3600, "national", 100, ""},
			{"105", "01188216000", 5, 10, "international", 100, "destinations/new"},
			{"105", "0114420", 6, 10, "international", 100, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gateway.NewFraudChecker(tc.rules, rooms)
			for i, cl := range tc.calls {
				call, ch := rated(cl.ext, cl.dialed, t0.Add(time.Duration(cl.min)*time.Minute), cl.secs, cl.class, cl.total)
				var got []string
				for _, h := range c.Check(gateway.EntryID(i+1), call, ch) {
					s := h.Rule
					if h.New {
						s += "/new"
					}
					if h.Extension != cl.ext {
						t.Errorf("call %d: hit names extension %s", i, h.Extension)
					}
					got = append(got, s)
				}
				if g := strings.Join(got, ","); g != cl.want {
					t.Errorf("call %d (%s at +%d min): hits %q, want %q", i, cl.ext, cl.min, g, cl.want)
				}
			}
		})
	}
}

func TestFraudHitText(t *testing.T) {
	c := gateway.NewFraudChecker(gateway.FraudRules{InternationalPerHour: 1}, gateway.RoomMap{Same: true})
	t0 := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	checkCall(c, 1, "101", "011442079460000", t0, 60, "international", 150)
	hits := checkCall(c, 2, "101", "011442079460001", t0.Add(time.Minute), 60, "international", 250)
	if len(hits) != 1 {
		t.Fatalf("hits %v", hits)
	}
	text := hits[0].Text(func(m int64, cur string) string { return gateway.FormatMinor(m, 2) + " " + cur })
	if want := "room 101 made 2 international calls within an hour (limit 1), 4.00 USD: possible toll fraud, check the extension"; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	if got := hits[0].Calls; len(got) != 2 || got[1].Entry != 2 || got[1].Dialed != "4420xxxxxxxxxxx" && got[1].Dialed != "0114xxxxxxxxxxx" {
		t.Errorf("calls %+v", got)
	}
}

// TestFraudNightCatchesUnmappedExtensions: at a site that maps rooms by a
// table (no "same"), an extension the table does not name is no room: the
// night rule watches it as it watches rooms.not_rooms. And an hourly
// rule's alarm lists only the calls it counted.
func TestFraudNightCatchesUnmappedExtensions(t *testing.T) {
	rooms := gateway.RoomMap{Map: map[string]string{"2101": "101"}}
	c := gateway.NewFraudChecker(gateway.FraudRules{NightFrom: 0, NightTo: 360, InternationalPerHour: 2}, rooms)
	t0 := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	if hits := checkCall(c, 1, "2101", "0114420", t0, 60, "international", 100); len(hits) != 0 {
		t.Errorf("a room's call at night: %+v", hits)
	}
	hits := checkCall(c, 2, "200", "0114420", t0, 60, "international", 100)
	if len(hits) != 1 || hits[0].Rule != gateway.RuleNight || hits[0].Extension != "200" || hits[0].Room != "" {
		t.Fatalf("an unmapped extension's international call at night: %+v", hits)
	}
	// 3 international calls from 2101 within the hour, with a national
	// one and one from two hours before: the alarm lists the 3.
	d := gateway.NewFraudChecker(gateway.FraudRules{InternationalPerHour: 2}, rooms)
	checkCall(d, 10, "2101", "0114420", t0.Add(-2*time.Hour), 60, "international", 100)
	checkCall(d, 11, "2101", "0114420", t0, 60, "international", 100)
	checkCall(d, 12, "2101", "16175550100", t0.Add(time.Minute), 60, "national", 10)
	checkCall(d, 13, "2101", "0114420", t0.Add(2*time.Minute), 60, "international", 100)
	hits = checkCall(d, 14, "2101", "0114420", t0.Add(3*time.Minute), 60, "international", 100)
	if len(hits) != 1 || len(hits[0].Calls) != 3 || hits[0].Calls[0].Entry != 11 || hits[0].Calls[2].Entry != 14 {
		t.Fatalf("the calls the alarm names: %+v", hits)
	}
}

func checkCall(c *gateway.FraudChecker, id gateway.EntryID, ext, dialed string, at time.Time, secs int, class string, total int64) []gateway.FraudHit {
	call, ch := rated(ext, dialed, at, secs, class, total)
	return c.Check(id, call, ch)
}

// TestFraudCheckerBound: the extensions followed stay under the bound,
// however many call.
func TestFraudCheckerBound(t *testing.T) {
	c := gateway.NewFraudChecker(gateway.FraudRules{InternationalPerHour: 3}, gateway.RoomMap{Same: true})
	t0 := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	for i := 0; i < 25000; i++ {
		checkCall(c, 0, strconv.Itoa(10000+i), "0114420", t0.Add(time.Duration(i)*time.Millisecond), 10, "international", 1)
	}
	if n := c.Extensions(); n > 10000 {
		t.Errorf("%d extensions followed, the bound is 10,000", n)
	}
	// An hour later the idle ones go at the next sweep.
	for i := 0; i < 1024; i++ {
		checkCall(c, 0, "101", "0114420", t0.Add(2*time.Hour+time.Duration(i)*time.Second), 10, "national", 1)
	}
	if n := c.Extensions(); n != 1 {
		t.Errorf("%d extensions followed after an hour of one extension's calls, want 1", n)
	}
}

func TestParseTimeSpan(t *testing.T) {
	f, err := os.Open("testdata/timespans.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		p := strings.Split(line, "|")
		if len(p) != 4 {
			t.Fatalf("bad test line %q", line)
		}
		n++
		from, to, err := gateway.ParseTimeSpan(p[0])
		if p[3] != "" {
			if err == nil || !strings.Contains(err.Error(), p[3]) {
				t.Errorf("%q: error %v, want one saying %q", p[0], err, p[3])
			}
			continue
		}
		if err != nil || strconv.Itoa(from) != p[1] || strconv.Itoa(to) != p[2] {
			t.Errorf("%q: %d, %d, %v; want %s, %s", p[0], from, to, err, p[1], p[2])
		}
		if p[0] != "" {
			if again, _, _ := gateway.ParseTimeSpan(gateway.FormatTimeSpan(from, to)); again != from {
				t.Errorf("%q does not survive FormatTimeSpan", p[0])
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d cases read", n)
	}
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"00:00-06:00", "22:00-06:00", "", "24:00-00:00", "x", "00:00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := gateway.ParseTimeSpan(s)
		if err != nil {
			return
		}
		if from < 0 || from > 1440 || to < 0 || to > 1440 || (from == to && strings.TrimSpace(s) != "") {
			t.Fatalf("%q gave %d-%d", s, from, to)
		}
	})
}

func TestFraudCallRefJSON(t *testing.T) {
	r := gateway.FraudCallRef{Entry: 7, Start: time.Date(2026, 12, 6, 2, 37, 9, 0, time.UTC), Dialed: "9011xxxx", Class: "international", DurationS: 240, TotalMinor: 480, Currency: "USD"}
	b, err := json.Marshal(r)
	if err != nil || string(b) != `{"start":"2026-12-06T02:37:09","entry":7,"dialed":"9011xxxx","class":"international","duration_s":240,"total_minor":480,"currency":"USD"}` {
		t.Fatalf("%s %v", b, err)
	}
	var back gateway.FraudCallRef
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("%+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"start":"06/12/2026"}`), &back); err == nil || !strings.Contains(err.Error(), "wall-clock") {
		t.Errorf("a bad start: %v", err)
	}
}

// BenchmarkFraudCheck is the rules' cost on the engine's path, per call of
// a generated month (every rule on, the planted fraud firing).
func BenchmarkFraudCheck(b *testing.B) {
	calls, _ := gatewaytest.GenerateMonth(1, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), true)
	c := gateway.NewFraudChecker(gatewaytest.TrafficRules, gatewaytest.TrafficRooms)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tc := &calls[i%len(calls)]
		if i%len(calls) == 0 && i > 0 {
			c = gateway.NewFraudChecker(gatewaytest.TrafficRules, gatewaytest.TrafficRooms)
		}
		c.Check(gateway.EntryID(i), &tc.Call, &tc.Charge)
	}
}
