package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// The finance export's columns are an interface: this list changes only by
// adding at the end.
const exportHeader = "entry_id,start,room,reservation,extension,dialed,class,destination,duration_s,billable_s,currency," +
	"carrier_cost,markup,surcharge,tax,total,posting,state,tariff_version"

func TestExport(t *testing.T) {
	start := time.Date(2026, 11, 3, 10, 15, 30, 0, time.UTC)
	es := []gateway.Entry{
		{ID: 7, State: gateway.StatePosted, Room: "101", Reservation: "R55", Posting: 42,
			Call: &gateway.Call{Extension: "101", Dialed: "912125550100", Start: start, DurationS: 125, Direction: gateway.Outgoing},
			Charge: &gateway.Charge{Class: "national", Destination: "USA", BillableS: 180, Chargeable: true, CarrierMinor: 30,
				MarkupMinor: 100, SurchargeMinor: 50, TaxMinor: 18, TotalMinor: 198, Currency: "USD", TariffVersion: "base"}},
		{ID: 8, State: gateway.StateNotChargeable, Call: &gateway.Call{Extension: "101", Start: start, Direction: gateway.Incoming},
			Charge: &gateway.Charge{Class: "incoming", Currency: "USD"}},
		{ID: 9, State: gateway.StateImported, Call: &gateway.Call{Extension: "3105", Dialed: "0", Start: start, Direction: gateway.Outgoing, DurationS: 60},
			Charge: &gateway.Charge{Class: "local", Chargeable: true, CarrierMinor: 5, TotalMinor: 5, Currency: "JPY"}},
	}
	tab, err := Export(es, Options{From: start, To: start, Rooms: gateway.RoomMap{Map: map[string]string{"3105": "105"}},
		MinorDigits: func(c string) (int, bool) { return map[string]int{"USD": 2, "JPY": 0}[c], true }})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, tab, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{exportHeader,
		"7,2026-11-03T10:15:30,101,R55,101,912125550100,national,USA,125,180,USD,0.30,1.00,0.50,0.18,1.98,42,posted,base",
		"9,2026-11-03T10:15:30,105,,3105,0,local,,60,0,JPY,5,0,0,0,5,,imported,"}
	if len(recs) != len(want) {
		t.Fatalf("%d lines: %v", len(recs), recs)
	}
	for i := range want {
		if got := strings.Join(recs[i], ","); got != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}
