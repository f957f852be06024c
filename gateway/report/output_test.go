package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// TestFormatFor: the output format from --format or the file's extension.
func TestFormatFor(t *testing.T) {
	for _, tc := range []struct{ format, out, want, err string }{
		{"", "", "table", ""},
		{"", "month.XLSX", "xlsx", ""},
		{"", "month.htm", "html", ""},
		{"", "month.txt", "table", ""},
		{"csv", "month.xlsx", "csv", ""},
		{"pdf", "", "", `--format "pdf" is not one of `},
	} {
		got, err := render.FormatFor(tc.format, tc.out)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("FormatFor(%q, %q) = %q, %v", tc.format, tc.out, got, err)
		}
	}
}

// TestWriteOutput: to stdout, to a file, and no file left when it fails.
func TestWriteOutput(t *testing.T) {
	tab := report.MonthTable(t, "rooms")
	var b bytes.Buffer
	if err := render.WriteOutput(&b, "", tab, "csv"); err != nil || !strings.HasPrefix(b.String(), "room,calls") {
		t.Fatalf("stdout: %v %q", err, b.String())
	}
	out := filepath.Join(t.TempDir(), "rooms.csv")
	if err := render.WriteOutput(nil, out, tab, "csv"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(data, []byte("room,calls")) {
		t.Errorf("file: %v %q", err, data)
	}
	bad := filepath.Join(t.TempDir(), "rooms.bad")
	if err := render.WriteOutput(nil, bad, tab, "nonsense"); err == nil {
		t.Error("an unknown format wrote")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("the failed file stays: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "dir.csv")
	if err := render.WriteOutput(nil, missing, tab, "csv"); err == nil || err.Error() != "cannot write "+missing+": no such file or directory" {
		t.Errorf("missing folder: %v", err)
	}
}

// TestParseDates: --from and --to.
func TestParseDates(t *testing.T) {
	f, to, err := report.ParseDates("2026-11-01", "")
	if err != nil || f != to || f.Format("2006-01-02") != "2026-11-01" {
		t.Errorf("from only: %v %v %v", f, to, err)
	}
	for _, tc := range [][3]string{
		{"", "", "a report needs --from DATE"},
		{"11/01", "", `--from "11/01" is not a date like 2026-11-01`},
		{"2026-11-01", "soon", `--to "soon" is not a date like 2026-11-30`},
	} {
		if _, _, err := report.ParseDates(tc[0], tc[1]); err == nil || !strings.Contains(err.Error(), tc[2]) {
			t.Errorf("%q %q: %v", tc[0], tc[1], err)
		}
	}
	var b bytes.Buffer
	if err := report.WriteList(&b); err != nil || !strings.Contains(b.String(), "busy-hour") {
		t.Errorf("list: %v %q", err, b.String())
	}
}
