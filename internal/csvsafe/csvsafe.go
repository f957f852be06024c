// Package csvsafe writes CSV that a spreadsheet opens as data, never as
// formulas. Every CSV the gateway writes (the console's /calls.csv, the
// report and finance-export CSVs) goes through it; see docs/design.md
// ("CSV cells").
//
// A spreadsheet takes a cell that begins with '=', '+', '-' or '@' as a
// formula, and some also after a leading tab or carriage return. Call
// records carry text the gateway does not control (dialed digits, account
// codes, trunk names, caller IDs), so such a cell gets a leading apostrophe:
// the spreadsheet shows the text and evaluates nothing. A plain number,
// -12.50 or +4420, stays as it is, so amounts remain numbers.
package csvsafe

import (
	"encoding/csv"
	"io"
)

// Cell returns s as a CSV cell a spreadsheet cannot evaluate: s itself, or
// s with a leading apostrophe when it begins with = + - @ tab or carriage
// return and is not a plain decimal number.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if !number(s) {
			return "'" + s
		}
	}
	return s
}

// number reports whether s is a sign, digits and at most one decimal point
// with a digit on at least one side of it: -12.50, +44, -.5.
func number(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, point := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return false
		}
	}
	return digits > 0
}

// Writer is an encoding/csv writer that passes every cell through Cell.
// Its header row goes through Cell too: column names are ours and plain.
type Writer struct {
	*csv.Writer
	row []string
}

// NewWriter returns a Writer on w that ends lines with CRLF (RFC 4180).
func NewWriter(w io.Writer) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &Writer{Writer: cw}
}

// Write writes one record, each cell made safe by Cell. record is not
// changed.
func (w *Writer) Write(record []string) error {
	w.row = w.row[:0]
	for _, s := range record {
		w.row = append(w.row, Cell(s))
	}
	return w.Writer.Write(w.row)
}

// WriteAll writes records through Write and flushes, so that the embedded
// csv.Writer's WriteAll cannot bypass Cell.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
