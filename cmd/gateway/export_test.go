package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"callgate/gateway"
)

func TestExportCommand(t *testing.T) {
	cfg, es := importedJournal(t)
	chargeable := 0
	var total int64
	for _, e := range es {
		if e.Charge != nil && e.Charge.Chargeable {
			chargeable++
			total += e.Charge.TotalMinor
		}
	}
	code, out, errOut := run(t, "", "export", "--config", cfg, "--from", "2026-05-01", "--to", "2026-05-02")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "entry_id,start,room,reservation,extension,dialed,class,destination,duration_s") || len(lines) != chargeable+1 || chargeable == 0 {
		t.Fatalf("%d lines for %d chargeable calls:\n%s", len(lines), chargeable, lines[0])
	}
	path := filepath.Join(t.TempDir(), "finance.xlsx")
	if code, _, errOut := run(t, "", "export", "--config", cfg, "--from", "2026-05-01", "--to", "2026-05-02", "--out", path); code != 0 {
		t.Fatalf("xlsx: exit %d %s", code, errOut)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("export")
	if len(rows) < chargeable+1 || rows[0][15] != "total" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	// The totals are numbers: their sum is the journal's, to the cent.
	var sum float64
	for i := 2; i <= chargeable+1; i++ {
		cell, _ := excelize.CoordinatesToCellName(16, i)
		typ, _ := f.GetCellType("export", cell)
		if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Fatalf("%s is text", cell)
		}
		v, _ := f.GetCellValue("export", cell, excelize.Options{RawCellValue: true})
		var x float64
		if _, err := fmt.Sscan(v, &x); err != nil {
			t.Fatalf("%s = %q", cell, v)
		}
		sum += x
	}
	if got := gateway.FormatMinor(int64(sum*100+0.5), 2); got != gateway.FormatMinor(total, 2) {
		t.Errorf("xlsx totals sum to %s, journal %s", got, gateway.FormatMinor(total, 2))
	}
	if code, _, errOut := run(t, "", "export", "--config", cfg, "--from", "2026-05-01", "--format", "html"); code != 2 || !strings.Contains(errOut, "csv or xlsx") {
		t.Errorf("html export: exit %d %q", code, errOut)
	}
}
