package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway/report"
)

// streamTable is a table of every kind of cell, with a cell a spreadsheet
// would take for a formula and one XML must escape.
func streamTable(n int) *report.Table {
	t := &report.Table{Name: "calls", Columns: []report.Column{{Name: "property"}, {Name: "entry", Kind: report.Int},
		{Name: "start", Kind: report.Instant}, {Name: "hour", Kind: report.Hour}, {Name: "erlangs", Kind: report.Float, Decimals: 3},
		{Name: "total", Kind: report.Money}, {Name: "dialed"}}}
	for i := range n {
		at := time.Date(2026, 11, 2, 10, 4, 5+i%50, 0, time.UTC)
		t.Rows = append(t.Rows, []any{"grand <&> \"hotel\"", int64(i + 1), at, at.Truncate(time.Hour), 1.25, report.Amount{Minor: int64(1234 + i), Digits: 2}, "=cmd|' /C calc'!A0"})
	}
	t.Rows = append(t.Rows, []any{"", int64(0), time.Time{}, time.Time{}, 0.0, report.Amount{Minor: 5, Digits: 3}, ""})
	return t
}

func writeRows(t *testing.T, tab *report.Table, format string) ([]byte, error) {
	t.Helper()
	var b bytes.Buffer
	rw, err := NewRowWriter(&b, tab.Name, tab.Columns, format)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range tab.Rows {
		if err := rw.Write(r); err != nil {
			return b.Bytes(), err
		}
		if i%7 == 0 {
			if err := rw.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = rw.Close()
	return b.Bytes(), err
}

// TestRowWriterCSV: the CSV written row by row is the CSV of the whole
// table (the same cells, guarded against formulas).
func TestRowWriterCSV(t *testing.T) {
	tab := streamTable(20)
	got, err := writeRows(t, tab, "csv")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := Write(&want, tab, "csv"); err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Errorf("streamed CSV:\n%s\nwant\n%s", got, want.String())
	}
	empty, err := writeRows(t, &report.Table{Columns: tab.Columns}, "csv")
	if err != nil || string(empty) != "property,entry,start,hour,erlangs,total,dialed\r\n" {
		t.Errorf("no rows: %q %v", empty, err)
	}
}

// TestRowWriterXLSX: the streamed xlsx opens in a spreadsheet reader with
// its header, every row, and the cells typed: numbers, money with its
// decimals, dates formatted as writeXLSX formats them, text as written.
func TestRowWriterXLSX(t *testing.T) {
	tab := streamTable(300)
	b, err := writeRows(t, tab, "xlsx")
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("calls")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(tab.Rows) || strings.Join(rows[0], ",") != "property,entry,start,hour,erlangs,total,dialed" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if want := []string{"grand <&> \"hotel\"", "1", "2026-11-02 10:04:05", "2026-11-02 10:00", "1.250", "12.34", "=cmd|' /C calc'!A0"}; strings.Join(rows[1], "|") != strings.Join(want, "|") {
		t.Errorf("row 1: %q, want %q", rows[1], want)
	}
	if last := rows[len(rows)-1]; len(last) < 6 || last[1] != "0" || last[5] != "0.005" {
		t.Errorf("last row: %q", last)
	}
	for _, cell := range []string{"B2", "E2", "F2", "C2"} {
		if ty, _ := f.GetCellType("calls", cell); ty == excelize.CellTypeInlineString || ty == excelize.CellTypeSharedString {
			t.Errorf("%s is text, want a number", cell)
		}
	}
	if formula, _ := f.GetCellFormula("calls", "G2"); formula != "" {
		t.Errorf("G2 holds a formula: %q", formula)
	}
}

// TestRowWriterSheetLimit: a sheet takes no more rows than a spreadsheet
// holds, and says to use CSV.
func TestRowWriterSheetLimit(t *testing.T) {
	defer func(n int) { sheetRows = n }(sheetRows)
	sheetRows = 11 // the header and 10 rows
	if _, err := writeRows(t, streamTable(9), "xlsx"); err != nil {
		t.Errorf("10 rows: %v", err)
	}
	if _, err := writeRows(t, streamTable(10), "xlsx"); err == nil || !strings.Contains(err.Error(), "export them as CSV") {
		t.Errorf("11 rows: %v", err)
	}
}
