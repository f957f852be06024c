package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// trafficEntries makes journal entries of a generated month, in entry
// order (call start), as the journal lists them.
func trafficEntries(calls []gatewaytest.TrafficCall) []gateway.Entry {
	es := make([]gateway.Entry, len(calls))
	for i := range calls {
		c := calls[i]
		es[i] = gateway.Entry{ID: gateway.EntryID(i + 1), State: gateway.StatePosted, Time: c.Call.StartUTC, Call: &c.Call, Charge: &c.Charge, Room: c.Room}
	}
	slices.SortStableFunc(es, func(a, b gateway.Entry) int { return a.Time.Compare(b.Time) })
	return es
}

// TestFraudReportOnAMonth: the fraud report over a generated month lists
// every planted case, once, naming extension and rule, and nothing on the
// clean traffic; the exceptions report gives the same calls a fraud reason.
func TestFraudReportOnAMonth(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	o := Options{From: start, To: start.AddDate(0, 0, 29), Location: gatewaytest.TrafficZone, Rooms: gatewaytest.TrafficRooms,
		Fraud: gatewaytest.TrafficRules, Thresholds: DefaultThresholds()}
	r, err := Lookup("fraud")
	if err != nil {
		t.Fatal(err)
	}
	clean, _ := gatewaytest.GenerateMonth(7, start, false)
	tb, err := r.Run(trafficEntries(clean), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 0 {
		t.Fatalf("clean traffic: %v", tb.Rows)
	}
	calls, planted := gatewaytest.GenerateMonth(7, start, true)
	es := trafficEntries(calls)
	tb, err = r.Run(es, o)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, row := range tb.Rows {
		got = append(got, fmt.Sprintf("%s %s day %d", row[2], row[4], row[0].(time.Time).Day()))
		if !strings.Contains(row[9].(string), row[2].(string)) {
			t.Errorf("alarm text %q does not name extension %s", row[9], row[2])
		}
	}
	for _, p := range planted {
		want = append(want, fmt.Sprintf("%s %s day %d", p.Extension, p.Rule, p.Day))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("caught\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The international burst: six calls, 36.00 USD at its peak.
	for _, row := range tb.Rows {
		if row[4] == gateway.RuleInternationalPerHour && (row[5] != int64(6) || row[6].(Amount).Minor != 3600) {
			t.Errorf("burst row %v", row)
		}
	}
	ex, _ := Lookup("exceptions")
	et, err := ex.Run(es, o)
	if err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, row := range et.Rows {
		for _, why := range strings.Split(row[8].(string), "; ") {
			if rule, ok := strings.CutPrefix(why, "fraud: "); ok {
				flagged[row[1].(string)+" "+rule] = true
			}
		}
	}
	for _, p := range planted {
		if !flagged[p.Extension+" "+p.Rule] {
			t.Errorf("the exceptions report gives no call of %s the reason fraud: %s", p.Extension, p.Rule)
		}
	}
	if len(flagged) != len(planted) {
		t.Errorf("fraud reasons %v, want the %d planted", flagged, len(planted))
	}
}

func TestFraudReportWithoutRules(t *testing.T) {
	r, _ := Lookup("fraud")
	tb, err := r.Run(nil, Options{From: time.Now(), To: time.Now()})
	if err != nil || len(tb.Rows) != 0 || !strings.Contains(strings.Join(tb.Notes, " "), "No fraud rules") {
		t.Errorf("%v %v", tb, err)
	}
}
