package gatewaytest

import (
	"fmt"
	"math/rand"
	"sort"
	"time"

	"callgate/gateway"
)

// TrafficCall is one rated call of a generated month.
type TrafficCall struct {
	Call   gateway.Call
	Charge gateway.Charge
	Room   string // "" for an extension that is not a room
}

// Planted is one case of fraud planted in generated traffic: the
// extension and the rule that must catch it.
type Planted struct {
	Extension, Rule string
	Day             int // the day of the month it happens on (1-based)
}

// TrafficRules are the fraud rules the generated traffic is made for: the
// clean traffic stays under every one of them, each planted case passes
// one.
var TrafficRules = gateway.FraudRules{InternationalPerHour: 3, CostPerHour: 10000, NightFrom: 0, NightTo: 6 * 60,
	PremiumClasses: []string{"premium"}, LongCallMinutes: 120, Destinations: []string{"882", "881"}}

// TrafficRooms maps the generated traffic's extensions: 101-160 are rooms,
// 200-209 are not (the back office).
var TrafficRooms = gateway.RoomMap{Same: true, NotRooms: []gateway.ExtensionRange{{From: "200", To: "299"}}}

// TrafficZone is the site's zone of the generated traffic (a fixed UTC-5,
// so that the test needs no zone database).
var TrafficZone = time.FixedZone("UTC-5", -5*3600)

// GenerateMonth makes the rated calls of a 60-room hotel over the 30 days
// from start (a local date), deterministic for a seed, ordered by the
// time each call ended: the clean traffic stays under TrafficRules (at most
// one international call per extension per hour, no call over 45 minutes,
// at most 4 calls per room a day and no more than 6,000 minor units an hour,
// the back office calling only local and national numbers in office hours,
// no watched destination), and with plant, the five cases Planted lists are
// added, one of each rule, on different days.
func GenerateMonth(seed int64, start time.Time, plant bool) ([]TrafficCall, []Planted) {
	rng := rand.New(rand.NewSource(seed))
	day0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	var out []TrafficCall
	add := func(ext string, wall time.Time, kind string, secs int, room string) {
		dialed, class, dest, rate := "", "", "", int64(0)
		switch kind {
		case "local":
			dialed, class, dest, rate = fmt.Sprintf("9555%04d", rng.Intn(10000)), "local", "Local", 10
		case "national":
			dialed, class, dest, rate = fmt.Sprintf("91617555%04d", rng.Intn(10000)), "national", "USA and Canada", 15
		case "international":
			dialed, class, dest, rate = fmt.Sprintf("9011442079%06d", rng.Intn(1000000)), "international", "United Kingdom", 120
		case "premium":
			dialed, class, dest, rate = fmt.Sprintf("91900555%04d", rng.Intn(10000)), "premium", "Premium rate", 299
		case "satellite":
			dialed, class, dest, rate = fmt.Sprintf("901188216%06d", rng.Intn(1000000)), "international", "Satellite", 900
		}
		e164 := dialed[1:]
		if len(e164) > 3 && e164[:3] == "011" {
			e164 = e164[3:]
		}
		minutes := int64((secs + 59) / 60)
		total := rate * minutes
		startUTC := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, TrafficZone).UTC()
		out = append(out, TrafficCall{Room: room,
			Call: gateway.Call{Format: "test", Extension: ext, Dialed: dialed, Start: wall, StartUTC: startUTC, DurationS: secs,
				Direction: gateway.Outgoing, Answered: gateway.Bool(secs > 0), Trunk: "9001"},
			Charge: gateway.Charge{Class: class, Destination: dest, E164: e164, BillableS: int(minutes * 60), Chargeable: secs > 0,
				CarrierMinor: total / 2, TotalMinor: total, Currency: "USD", TariffVersion: "base"}})
	}
	for d := 0; d < 30; d++ {
		day := day0.AddDate(0, 0, d)
		for r := 101; r <= 160; r++ {
			ext := fmt.Sprint(r)
			// Up to 4 calls, each in its own hour from 07:00 to 22:59.
			hours := rng.Perm(16)[:rng.Intn(5)]
			intl := false
			for _, h := range hours {
				kind := []string{"local", "local", "national", "national", "international"}[rng.Intn(5)]
				if kind == "international" {
					if intl {
						kind = "national"
					}
					intl = true
				}
				at := day.Add(time.Duration(7+h)*time.Hour + time.Duration(rng.Intn(3600))*time.Second)
				secs := 0
				if rng.Intn(6) > 0 {
					secs = 10 + rng.Intn(45*60-10)
				}
				if kind == "international" && secs > 20*60 {
					secs = 20 * 60 // 120 a minute: at most 2,400 an hour
				}
				add(ext, at, kind, secs, ext)
			}
		}
		// The back office: local and national calls in office hours.
		for i := 0; i < 6+rng.Intn(6); i++ {
			ext := fmt.Sprint(200 + rng.Intn(10))
			at := day.Add(9*time.Hour + time.Duration(rng.Intn(8*3600))*time.Second)
			add(ext, at, []string{"local", "national"}[rng.Intn(2)], 30+rng.Intn(600), "")
		}
	}
	var planted []Planted
	if plant {
		at := func(d, h, m int) time.Time {
			return day0.AddDate(0, 0, d-1).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		}
		// A compromised room phone: six international calls in 50 minutes
		// at night (a room, so the night rule does not apply).
		for i := 0; i < 6; i++ {
			add("117", at(4, 1, 10*i), "international", 300, "117")
		}
		planted = append(planted, Planted{"117", gateway.RuleInternationalPerHour, 4})
		// Premium calls adding up to 149.50 within an hour, in the evening.
		for i := 0; i < 5; i++ {
			add("142", at(9, 20, 12*i), "premium", 600, "142")
		}
		planted = append(planted, Planted{"142", gateway.RuleCostPerHour, 9})
		// The back office dialing abroad at 02:40.
		add("205", at(15, 2, 40), "international", 240, "")
		planted = append(planted, Planted{"205", gateway.RuleNight, 15})
		// A room's call of three hours.
		add("133", at(21, 14, 0), "national", 3*3600, "133")
		planted = append(planted, Planted{"133", gateway.RuleLongCall, 21})
		// A call to a satellite number.
		add("158", at(27, 11, 30), "satellite", 60, "158")
		planted = append(planted, Planted{"158", gateway.RuleDestination, 27})
	}
	sort.SliceStable(out, func(i, j int) bool {
		ei := out[i].Call.StartUTC.Add(time.Duration(out[i].Call.DurationS) * time.Second)
		ej := out[j].Call.StartUTC.Add(time.Duration(out[j].Call.DurationS) * time.Second)
		return ei.Before(ej)
	})
	return out, planted
}
