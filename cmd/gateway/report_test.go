package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"callgate/gateway"
	"callgate/store"
)

// importedJournal imports 300 simulated calls of 2026-05-01 and returns
// the config and the journal's entries.
func importedJournal(t *testing.T) (string, []gateway.Entry) {
	t.Helper()
	dir := t.TempDir()
	cfg := importConfig(t, dir)
	file := smdrFile(t, dir, 300, 7)
	if code, out, errOut := run(t, "", "import", "--config", cfg, file); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	return cfg, journalEntries(t, dir)
}

// journalEntries reads every entry of the journal in dir.
func journalEntries(t *testing.T, dir string) []gateway.Entry {
	t.Helper()
	j, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{ReadOnly: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	es, err := j.Entries(context.Background(), gateway.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestReportCommand runs reports over an imported journal and checks them
// against the journal itself.
func TestReportCommand(t *testing.T) {
	cfg, es := importedJournal(t)
	trunkCalls := 0
	for _, e := range es {
		if e.Call.Direction != gateway.Internal && e.Call.Start.Day() == 1 {
			trunkCalls++
		}
	}
	code, out, errOut := run(t, "", "report", "busy-hour", "--config", cfg, "--from", "2026-05-01", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rows []struct {
		Hour    string  `json:"hour"`
		Calls   int     `json:"calls"`
		Erlangs float64 `json:"erlangs"`
		CCS     float64 `json:"ccs"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 24 {
		t.Fatalf("%d rows, %v\n%s", len(rows), err, out)
	}
	sum := 0
	for _, r := range rows {
		sum += r.Calls
	}
	if sum != trunkCalls || trunkCalls == 0 {
		t.Errorf("busy-hour counts %d trunk calls, the journal holds %d", sum, trunkCalls)
	}
	if rows[8].Hour != "2026-05-01T08:00" || rows[8].Erlangs <= 0 {
		t.Errorf("08:00: %+v", rows[8])
	}
	xlsx := filepath.Join(t.TempDir(), "rooms.xlsx")
	if code, _, errOut := run(t, "", "report", "rooms", "--config", cfg, "--from", "2026-05-01", "--to", "2026-05-02", "--out", xlsx); code != 0 {
		t.Fatalf("rooms: exit %d %s", code, errOut)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rowsX, _ := f.GetRows("rooms")
	if len(rowsX) < 3 || strings.Join(rowsX[0], ",") != "room,calls,minutes,carrier_cost,guest_charge" {
		t.Errorf("rooms.xlsx: %v", rowsX)
	}
	code, out, _ = run(t, "", "report", "--config", cfg)
	if code != 0 || !strings.Contains(out, "busy-hour") || !strings.Contains(out, "night-audit") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "", "report", "carriers", "--config", cfg, "--from", "2026-05-01", "--tariff", "../../configs/tariffs/usa.yaml", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "tariff,class,destination,calls,actual_cost,alternative_cost,difference\r\n") || !strings.Contains(out, "usa.yaml,(all),") {
		t.Errorf("carriers: exit %d\n%s", code, out)
	}
	// Without --tariff, the config's report.carriers.
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(body, "report: {carriers: ["+mustAbs(t, "../../configs/tariffs/usa.yaml")+"]}\n"...), 0o644)
	code, out, errOut = run(t, "", "report", "carriers", "--config", cfg, "--from", "2026-05-01", "--format", "csv")
	if code != 0 || !strings.Contains(out, "usa.yaml,(all),") {
		t.Errorf("carriers from the config: exit %d\n%s%s", code, out, errOut)
	}
}

func TestReportUsage(t *testing.T) {
	cfg, _ := importedJournal(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "nonsense", "--config", cfg, "--from", "2026-05-01"}, 2, "no report called"},
		{[]string{"report", "rooms", "--from", "2026-05-01"}, 2, "--config"},
		{[]string{"report", "rooms", "--config", cfg}, 2, "--from"},
		{[]string{"report", "rooms", "--config", cfg, "--from", "1 May"}, 2, "not a date"},
		{[]string{"report", "rooms", "--config", cfg, "--from", "2026-05-02", "--to", "2026-05-01"}, 2, "swap them"},
		{[]string{"report", "rooms", "--config", cfg, "--from", "2026-05-01", "--format", "pdf"}, 2, "--format"},
		{[]string{"report", "rooms", "--config", cfg, "--from", "2026-05-01", "--tariff", "x.yaml"}, 2, "carriers"},
		{[]string{"report", "carriers", "--config", cfg, "--from", "2026-05-01"}, 1, "--tariff"},
	} {
		code, _, errOut := run(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
