package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func TestCallers(t *testing.T) {
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	in := func(id gateway.EntryID, caller string, start time.Time, dur int) gateway.Entry {
		c := &gateway.Call{Extension: "200", Start: start, DurationS: dur, Direction: gateway.Incoming, Trunk: "9001",
			Answered: gateway.Bool(dur > 0), CallerID: caller}
		return gateway.Entry{ID: id, Call: c}
	}
	f := fixture{es: []gateway.Entry{
		in(1, "2125550100", at(2, 9), 60),
		in(2, "2125550100", at(3, 9), 0),
		in(3, "2125550100", at(3, 10), 120),
		in(4, "+442079460000", at(4, 9), 30),
		in(5, "", at(4, 22), 0),
		in(6, "2129990000", at(5, 22), 90),
	}, o: Options{From: at(1, 0), To: at(30, 0)}}
	tab := run(t, f, "callers")
	if len(tab.Rows) != 4 || tab.Rows[0][0] != "2125550100" || tab.Rows[0][1] != int64(3) || tab.Rows[0][3] != int64(1) || tab.Rows[0][4] != 3.0 {
		t.Errorf("callers: %v", tab.Rows)
	}
	areas := run(t, f, "caller-areas")
	if r := find(t, areas, map[string]any{"prefix": "212"}); len(r) != 1 || r[0][1] != int64(4) || r[0][2] != int64(3) {
		t.Errorf("caller-areas: %v", areas.Rows)
	}
	if r := find(t, areas, map[string]any{"prefix": "+442"}); len(r) != 1 {
		t.Errorf("caller-areas: %v", areas.Rows)
	}
	un := run(t, f, "unanswered")
	if len(un.Rows) != 24 || un.Rows[9][1] != int64(3) || un.Rows[9][2] != int64(1) || un.Rows[22][3] != 50.0 {
		t.Errorf("unanswered: %v %v", un.Rows[9], un.Rows[22])
	}
}

// perSecond is a tariff costing one minor unit per 6 seconds of any
// outgoing call; it cannot price calls to 999.
type perSecond struct{}

func (perSecond) Rate(c gateway.Call) (gateway.Charge, error) {
	if c.Dialed == "999" {
		return gateway.Charge{}, errors.New("no route")
	}
	return gateway.Charge{Currency: "USD", CarrierMinor: int64(c.DurationS / 6)}, nil
}

func TestCarriers(t *testing.T) {
	f := month(t)
	f.o.Tariffs = []NamedRater{{Name: "cheap.yaml", Rater: perSecond{}}}
	f.es[0].Call.Dialed = "999"
	tab := run(t, f, "carriers")
	// national: 59 priced answered calls at 100 each (100 under both) and
	// the attempt (0 under both); international: 1600 actual, (3600 + 2400
	// + 1500 + 600)/6 = 1350 alternative.
	want := map[string][]any{
		"national":      {int64(60), Amount{5900, 2}, Amount{5900, 2}, Amount{0, 2}},
		"international": {int64(4), Amount{1600, 2}, Amount{1350, 2}, Amount{-250, 2}},
		"(all)":         {int64(64), Amount{7500, 2}, Amount{7250, 2}, Amount{-250, 2}},
	}
	if len(tab.Rows) != 3 {
		t.Fatalf("carriers: %v", tab.Rows)
	}
	for _, r := range tab.Rows {
		w := want[r[1].(string)]
		for i := range w {
			if r[3+i] != w[i] {
				t.Errorf("%v, want %v", r, w)
				break
			}
		}
	}
	if tab.Rows[2][1] != "(all)" || !strings.Contains(strings.Join(tab.Notes, " "), "cannot price 1 of the calls") {
		t.Errorf("total not last or no note: %v %v", tab.Rows, tab.Notes)
	}
	f.o.Tariffs = nil
	if r, _ := Lookup("carriers"); true {
		if _, err := r.Run(f.es, f.o); err == nil || !strings.Contains(err.Error(), "--tariff") {
			t.Errorf("no tariff: %v", err)
		}
	}
}

func TestNightAudit(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 3, h, 0, 0, 0, time.UTC) }
	ch := func(minor int64) *gateway.Charge {
		return &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: minor, Currency: "USD"}
	}
	entry := func(id gateway.EntryID, room string, p uint32, st gateway.State, minor int64, h ...gateway.StateChange) gateway.Entry {
		return gateway.Entry{ID: id, Room: room, Posting: p, State: st, Call: &gateway.Call{Start: at(int(id) + 8), Direction: gateway.Outgoing}, Charge: ch(minor), History: h}
	}
	f := fixture{es: []gateway.Entry{
		entry(1, "101", 1, gateway.StatePosted, 150),
		entry(2, "101", 2, gateway.StatePostedByHand, 250,
			gateway.StateChange{To: gateway.StateInDoubt, Reason: "no answer in 30 s"},
			gateway.StateChange{From: gateway.StateInDoubt, To: gateway.StatePostedByHand, Actor: "anna", Reason: "on the folio in OPERA"}),
		entry(3, "102", 3, gateway.StateRefused, 400, gateway.StateChange{To: gateway.StateRefused, Reason: "NG guest checked out"}),
		entry(4, "102", 4, gateway.StateInDoubt, 90, gateway.StateChange{To: gateway.StateInDoubt, Reason: "link dropped"}),
		{ID: 5, State: gateway.StateNotChargeable, Call: &gateway.Call{Start: at(14), Direction: gateway.Internal}},
	}, o: Options{From: at(0), To: at(0)}}
	f.es[0].Answer = &gateway.Answer{Code: "OK"}
	tab := run(t, f, "night-audit")
	if len(tab.Rows) != 4 {
		t.Fatalf("night-audit: %v", tab.Rows)
	}
	if r := tab.Rows[1]; r[3] != "posted-manually" || r[6] != "anna" || r[7] != "on the folio in OPERA" {
		t.Errorf("resolved by hand: %v", r)
	}
	if r := tab.Rows[0]; r[5] != "OK" || r[4] != (Amount{150, 2}) {
		t.Errorf("posted: %v", r)
	}
	if r := tab.Rows[3]; r[3] != "in-doubt" || r[7] != "link dropped" || r[6] != "" {
		t.Errorf("in doubt: %v", r)
	}
	notes := strings.Join(tab.Notes, "\n")
	for _, w := range []string{"Room 101: posted 1 (1.50), posted-manually 1 (2.50).", "Room 102: refused 1 (4.00), in-doubt 1 (0.90).",
		"All rooms: posted 1 (1.50), refused 1 (4.00), in-doubt 1 (0.90), posted-manually 1 (2.50)."} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
}

// TestColumnsListed: the columns gateway report lists for each report are
// the ones it writes.
func TestColumnsListed(t *testing.T) {
	f := month(t)
	f.o.Tariffs = []NamedRater{{Name: "x", Rater: perSecond{}}}
	for _, r := range Reports() {
		tab := run(t, f, r.Name)
		var names []string
		for _, c := range tab.Columns {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, ", "); got != r.Columns {
			t.Errorf("%s: writes %q, lists %q", r.Name, got, r.Columns)
		}
	}
}
