// Package render writes the tables package report computes: aligned text for a
// terminal, CSV, JSON, an xlsx spreadsheet with typed cells, and a standalone
// HTML page with an SVG chart. Computing stays in package report; nothing here
// reads the journal.
package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/internal/csvsafe"
)

// Formats are the output formats of Write (report.Formats: a schedule in
// package report names one).
var Formats = report.Formats

var _ report.Render = Write

// Write writes t to w in format: table (aligned text for a terminal), csv
// (RFC 4180, UTF-8, a header row), json (an array of row objects keyed by
// column name), xlsx (a spreadsheet with typed cells) or html (a
// standalone page with an SVG chart, for the screen and for print).
func Write(w io.Writer, t *report.Table, format string) error {
	switch format {
	case "table":
		return writeTable(w, t)
	case "csv":
		return writeCSV(w, t)
	case "json":
		return writeJSON(w, t)
	case "xlsx":
		return writeXLSX(w, t)
	case "html":
		return writeHTML(w, t)
	}
	return gateway.Errorf(gateway.KindInvalid, "there is no output format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// Text returns a cell as the table and CSV formats print it.
func Text(c report.Column, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', c.Decimals, 64)
	case report.Amount:
		return x.String()
	case time.Time:
		switch c.Kind {
		case report.Hour:
			return x.Format("2006-01-02T15:04")
		case report.Date:
			return x.Format(time.DateOnly)
		}
		return x.Format(gateway.WallClockLayout)
	}
	return fmt.Sprint(v)
}

func writeTable(w io.Writer, t *report.Table) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s, %s to %s\n\n", t.Title, t.From.Format(time.DateOnly), t.To.Format(time.DateOnly))
	tw := tabwriter.NewWriter(bw, 0, 8, 2, ' ', tabwriter.AlignRight)
	for i, c := range t.Columns {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, c.Name)
	}
	fmt.Fprint(tw, "\t\n")
	for _, r := range t.Rows {
		for i, c := range t.Columns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, Text(c, r[i]))
		}
		fmt.Fprint(tw, "\t\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(t.Rows) == 0 {
		fmt.Fprintln(bw, "(no rows)")
	}
	for _, n := range t.Notes {
		fmt.Fprintf(bw, "\n%s", n)
	}
	if len(t.Notes) > 0 {
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

// writeCSV writes RFC 4180 CSV whose cells a spreadsheet cannot take for
// formulas (csvsafe: a cell of text from a call record may begin with =):
// the table's rows through the streaming CSV writer.
func writeCSV(w io.Writer, t *report.Table) error {
	rw := &csvRows{cw: csvsafe.NewWriter(w), cols: t.Columns, cells: make([]string, len(t.Columns))}
	for _, r := range t.Rows {
		if err := rw.Write(r); err != nil {
			return err
		}
	}
	return rw.Close()
}

// writeJSON writes the rows as objects with the columns in order: numbers as
// JSON numbers (money as its exact decimal), times as text.
func writeJSON(w io.Writer, t *report.Table) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for ri, r := range t.Rows {
		if ri > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n{")
		for i, c := range t.Columns {
			if i > 0 {
				bw.WriteString(",")
			}
			buf.Reset()
			enc.Encode(c.Name)
			bw.Write(bytes.TrimSpace(buf.Bytes()))
			bw.WriteString(":")
			switch c.Kind {
			case report.Int, report.Float, report.Money:
				if _, ok := r[i].(string); ok { // an empty cell
					bw.WriteString("null")
				} else {
					bw.WriteString(Text(c, r[i]))
				}
			default:
				buf.Reset()
				enc.Encode(Text(c, r[i]))
				bw.Write(bytes.TrimSpace(buf.Bytes()))
			}
		}
		bw.WriteString("}")
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}
