package report

import (
	"fmt"
	"math/rand"
	"time"

	"callgate/gateway"
)

// sweepCase is a random case for the sweeps (trunks, all-busy), from seed:
// a few trunk groups of sizes 0 to 4 (or none), and up to 80 calls on
// trunks 9001-9008 starting on whole minutes (so that starts and ends
// meet) around a two-day period, some outside it, some internal, in entry
// order (not by start). The goldens of testdata/sweeps were computed from
// it by the code as it was before the folds (b45bc25): keep it as it is.
func sweepCase(seed int64) ([]gateway.Entry, Options) {
	rnd := rand.New(rand.NewSource(seed))
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	o := Options{From: from, To: from.AddDate(0, 0, 1), Location: time.UTC}
	switch rnd.Intn(4) {
	case 0: // no groups: one "all"
	case 1:
		o.TrunkGroups = []TrunkGroup{{Name: "pstn", Trunks: []string{"9001-9008"}, Size: rnd.Intn(5)}}
	default:
		o.TrunkGroups = []TrunkGroup{{Name: "a", Trunks: []string{"9001-9003"}, Size: rnd.Intn(4)},
			{Name: "b", Trunks: []string{"9004", "9005"}, Size: rnd.Intn(3)}} // 9006-9008: other
	}
	n := 5 + rnd.Intn(76)
	es := make([]gateway.Entry, n)
	for i := range es {
		start := from.Add(-3*time.Hour + time.Duration(rnd.Intn(54*60))*time.Minute)
		dir := []gateway.Direction{gateway.Outgoing, gateway.Incoming, gateway.Outgoing, gateway.Internal}[rnd.Intn(4)]
		dur := []int{0, 60, 120, 600, 1800, 3600, 7200, rnd.Intn(9000)}[rnd.Intn(8)]
		c := &gateway.Call{Start: start, StartUTC: start, DurationS: dur, Direction: dir, Trunk: fmt.Sprintf("%d", 9001+rnd.Intn(8)),
			Answered: gateway.Bool(rnd.Intn(5) > 0), Extension: "101"}
		es[i] = gateway.Entry{ID: gateway.EntryID(i + 1), Time: start, Call: c}
	}
	return es, o
}
