package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway"
)

// Formats are the output formats of Write.
var Formats = []string{"table", "csv", "json", "xlsx", "html"}

// Write writes t to w in format: table (aligned text for a terminal), csv
// (RFC 4180, UTF-8, a header row), json (an array of row objects keyed by
// column name), xlsx (a spreadsheet with typed cells) or html (a
// standalone page with an SVG chart, for the screen and for print).
func Write(w io.Writer, t *Table, format string) error {
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
func Text(c Column, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', c.Decimals, 64)
	case Amount:
		return x.String()
	case time.Time:
		switch c.Kind {
		case Hour:
			return x.Format("2006-01-02T15:04")
		case Date:
			return x.Format(time.DateOnly)
		}
		return x.Format(gateway.WallClockLayout)
	}
	return fmt.Sprint(v)
}

func writeTable(w io.Writer, t *Table) error {
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

func writeCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, len(t.Columns))
	for _, r := range t.Rows {
		for i, c := range t.Columns {
			row[i] = Text(c, r[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes the rows as objects with the columns in order: numbers as
// JSON numbers (money as its exact decimal), times as text.
func writeJSON(w io.Writer, t *Table) error {
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
			case Int, Float, Money:
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

// writeXLSX writes one sheet named after the report: a header row, then the
// rows with numbers as numbers (money with its decimals as the number
// format) and times as dates; the notes below.
func writeXLSX(w io.Writer, t *Table) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := t.Name
	if sheet == "" {
		sheet = "report"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	styles := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		var fmtCode string
		switch c.Kind {
		case Float:
			fmtCode = "0"
			if c.Decimals > 0 {
				fmtCode += "." + strings.Repeat("0", c.Decimals)
			}
		case Money:
			fmtCode = "#,##0.00"
		case Hour:
			fmtCode = "yyyy-mm-dd hh:mm"
		case Date:
			fmtCode = "yyyy-mm-dd"
		case Instant:
			fmtCode = "yyyy-mm-dd hh:mm:ss"
		}
		if fmtCode != "" {
			s, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtCode})
			if err != nil {
				return err
			}
			styles[i] = s
		}
	}
	for i, c := range t.Columns {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr(sheet, cell, c.Name)
		f.SetCellStyle(sheet, cell, cell, bold)
		f.SetColWidth(sheet, colName(i), colName(i), float64(max(len(c.Name)+2, 12)))
	}
	moneyStyles := map[int]int{}
	for ri, r := range t.Rows {
		for i, c := range t.Columns {
			cell, _ := excelize.CoordinatesToCellName(i+1, ri+2)
			var err error
			switch x := r[i].(type) {
			case string:
				err = f.SetCellStr(sheet, cell, x)
			case int64:
				err = f.SetCellInt(sheet, cell, x)
			case float64:
				err = f.SetCellFloat(sheet, cell, x, -1, 64)
			case Amount:
				// The exact decimal, parsed: a float64 holds every amount
				// of up to 15 digits exactly as a spreadsheet shows it.
				v, _ := strconv.ParseFloat(x.String(), 64)
				err = f.SetCellFloat(sheet, cell, v, -1, 64)
				if x.Digits != 2 {
					s, ok := moneyStyles[x.Digits]
					if !ok {
						code := "#,##0"
						if x.Digits > 0 {
							code += "." + strings.Repeat("0", x.Digits)
						}
						s, _ = f.NewStyle(&excelize.Style{CustomNumFmt: &code})
						moneyStyles[x.Digits] = s
					}
					f.SetCellStyle(sheet, cell, cell, s)
					continue
				}
			case time.Time:
				err = f.SetCellValue(sheet, cell, x)
			default:
				err = f.SetCellStr(sheet, cell, fmt.Sprint(x))
			}
			if err != nil {
				return err
			}
			if styles[i] != 0 {
				f.SetCellStyle(sheet, cell, cell, styles[i])
			}
			_ = c
		}
	}
	row := len(t.Rows) + 3
	for _, n := range t.Notes {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		f.SetCellStr(sheet, cell, n)
		row++
	}
	f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	_, err := f.WriteTo(w)
	return err
}

func colName(i int) string {
	s, _ := excelize.ColumnNumberToName(i + 1)
	return s
}
