package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
)

// alarmOf returns the standing alarm of kind and subject.
func alarmOf(e *gateway.Engine, k gateway.AlarmKind, subject string) (gateway.Alarm, bool) {
	for _, a := range e.Status().Alarms {
		if a.Kind == k && a.Subject == subject {
			return a, true
		}
	}
	return gateway.Alarm{}, false
}

// TestEngineRoomCredit: each room's posted calls in the stay are held
// against its limit — the room's own (103), the VIP code's (104, GOLD),
// else the default (101) — and passing it raises a room-credit alarm
// naming the room, the total and the limit; the check-out clears it.
func TestEngineRoomCredit(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) {
		e.Rooms = gateway.RoomMap{Same: true}
		e.Credit = gateway.CreditLimits{Default: 1000, Rooms: map[string]int64{"103": 2600}, VIP: map[string]int64{"GOLD": 2000}}
		e.MinorDigits = func(string) (int, bool) { return 2, true }
	})
	if _, err := r.j.ApplyGuest(r.ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "104", Reservation: "R104", VIP: "GOLD"}}); err != nil {
		t.Fatal(err)
	}
	r.run()
	r.await(r.send("out 101 4416 60"), gateway.StatePosted) // 6.00: under 10.00
	for i := 0; i < 3; i++ {
		r.await(r.send(fmt.Sprintf("out 103 441%d 90", i)), gateway.StatePosted) // 27.00 over 26.00
		r.await(r.send(fmt.Sprintf("out 104 441%d 90", i)), gateway.StatePosted) // 27.00 over 20.00
	}
	want := map[string]string{
		"103": "room 103: posted calls this stay come to 27.00 USD, over its credit limit of 26.00 USD (room 103)",
		"104": "room 104: posted calls this stay come to 27.00 USD, over its credit limit of 20.00 USD (VIP GOLD)",
	}
	for len(want) > 0 {
		r.tickUntilAlarm(gateway.AlarmRoomCredit, true)
		for room, text := range want {
			if a, ok := alarmOf(r.e, gateway.AlarmRoomCredit, room); ok {
				if !strings.HasPrefix(a.Text, text) || a.Detail == nil || a.Detail.Room != room || a.Detail.AmountMinor != 2700 || a.Detail.Count != 3 {
					t.Errorf("alarm %+v %+v", a, a.Detail)
				}
				delete(want, room)
			}
		}
	}
	if _, ok := alarmOf(r.e, gateway.AlarmRoomCredit, "101"); ok {
		t.Fatal("room 101 is under its limit")
	}
	r.await(r.send("out 101 4417 60"), gateway.StatePosted) // 12.00
	for _, up := alarmOf(r.e, gateway.AlarmRoomCredit, "101"); !up; _, up = alarmOf(r.e, gateway.AlarmRoomCredit, "101") {
		r.tickUntilAlarm(gateway.AlarmRoomCredit, true)
	}
	a, ok := alarmOf(r.e, gateway.AlarmRoomCredit, "101")
	if !ok || !strings.Contains(a.Text, "12.00 USD, over its credit limit of 10.00 USD (default)") {
		t.Fatalf("room 101: %+v", a)
	}
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "101", Reservation: "R101"}})
	r.tickUntilAlarm(gateway.AlarmRoomCredit, false)
	if _, ok := alarmOf(r.e, gateway.AlarmRoomCredit, "101"); ok {
		t.Error("the check-out did not clear room 101's alarm")
	}
	if _, ok := alarmOf(r.e, gateway.AlarmRoomCredit, "104"); !ok {
		t.Error("room 104's alarm went with 101's check-out")
	}
}

// TestEngineFraudAlarm: the engine checks each call as it is journaled;
// the fourth international call within an hour raises one fraud alarm
// naming the extension (later calls update it), and an hour without the
// rule firing clears it.
func TestEngineFraudAlarm(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) {
		e.Rater = intlTestRater{}
		e.Fraud = gateway.FraudRules{InternationalPerHour: 3}
	}).run()
	for i := 1; i <= 5; i++ {
		r.clock.Advance(time.Minute)
		r.await(r.send(fmt.Sprintf("out 101 011442%d 60", i)), gateway.StatePosted) // a replay, were the bytes the same
	}
	r.awaitAlarm(gateway.AlarmFraud, true)
	// The alarm is updated after the call's commit: poll it (bounded).
	testutil.WaitFor(t, 5*time.Second, "the fraud alarm counting 5 calls", func() bool {
		a, ok := alarmOf(r.e, gateway.AlarmFraud, "101/"+gateway.RuleInternationalPerHour)
		return ok && a.Detail.Count == 5
	})
	a, _ := alarmOf(r.e, gateway.AlarmFraud, "101/"+gateway.RuleInternationalPerHour)
	if a.Detail.Extension != "101" || !strings.Contains(a.Text, "room 101 made 5 international calls within an hour (limit 3)") {
		t.Errorf("alarm %+v", a)
	}
	r.clock.Advance(gateway.FraudWindow)
	r.tickUntilAlarm(gateway.AlarmFraud, false)
	select {
	case c := <-r.alarms:
		t.Errorf("another alarm change: %+v", c)
	default:
	}
}

// intlTestRater prices numbers dialed with 011 as international.
type intlTestRater struct{}

func (intlTestRater) Rate(c gateway.Call) (gateway.Charge, error) {
	ch := gateway.Charge{Class: "national", Currency: "USD", Chargeable: c.DurationS > 0, TotalMinor: int64(c.DurationS) * 10}
	if strings.HasPrefix(c.Dialed, "011") {
		ch.Class = "international"
	}
	return ch, nil
}

// TestEngineFraudSpansARestart: the engine reads the last hour's calls from
// the journal at start, so three international calls journaled before a
// restart and one after make four within the hour: the alarm is raised.
func TestEngineFraudSpansARestart(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) {
		e.Rater = intlTestRater{}
		e.Fraud = gateway.FraudRules{InternationalPerHour: 3}
	})
	var recs []gateway.ImportRecord
	for i := 0; i < 3; i++ {
		at := r.clock.Now().Add(time.Duration(i-40) * time.Minute)
		c := gateway.Call{Format: "test", Extension: "101", Dialed: fmt.Sprintf("011442%d", i), Start: at, StartUTC: at, DurationS: 60,
			Direction: gateway.Outgoing, Answered: gateway.Bool(true), Raw: []byte(fmt.Sprintf("before %d", i))}
		ch := gateway.Charge{Class: "international", Currency: "USD", Chargeable: true, TotalMinor: 600}
		recs = append(recs, gateway.ImportRecord{Raw: gateway.RawRecord{Data: c.Raw, Received: at, Source: "fake PBX"}, Call: &c, Charge: &ch, Room: "101"})
	}
	if _, err := r.j.Import(r.ctx, recs); err != nil {
		t.Fatal(err)
	}
	r.n = 3
	r.run()
	r.await(r.send("out 101 0114429 60"), gateway.StatePosted)
	r.awaitAlarm(gateway.AlarmFraud, true)
	if a, ok := alarmOf(r.e, gateway.AlarmFraud, "101/"+gateway.RuleInternationalPerHour); !ok || a.Detail.Count != 4 {
		t.Errorf("alarm %+v", a)
	}
}
