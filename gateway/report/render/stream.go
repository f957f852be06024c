package render

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/internal/csvsafe"
)

// MaxSheetRows is the most rows a spreadsheet's sheet holds (Excel's own
// limit), the header row included: an XLSX RowWriter takes one less.
const MaxSheetRows = 1_048_576

// sheetRows is MaxSheetRows (a test makes it small).
var sheetRows = MaxSheetRows

// A RowWriter writes a table's rows as they come, for a table too big to
// hold at once (the chain console's calls export): CSV or XLSX, the cells
// typed as Write types a Table's. Flush sends what is buffered; Close
// ends the file. Nothing is written before the first Write, Flush or Close.
type RowWriter interface {
	Write(row []any) error
	Flush() error
	Close() error
}

// NewRowWriter returns a RowWriter of format csv or xlsx writing to w a
// header of cols and then the rows; name names the xlsx's sheet.
func NewRowWriter(w io.Writer, name string, cols []report.Column, format string) (RowWriter, error) {
	switch format {
	case "csv":
		return &csvRows{cw: csvsafe.NewWriter(w), cols: cols, cells: make([]string, len(cols))}, nil
	case "xlsx":
		return &xlsxRows{w: w, name: name, cols: cols}, nil
	}
	return nil, gateway.Errorf(gateway.KindInvalid, "rows are written as csv or xlsx, not %q", format)
}

// csvRows writes RFC 4180 CSV whose cells a spreadsheet cannot take for
// formulas (csvsafe); writeCSV writes a whole table through it.
type csvRows struct {
	cw     *csvsafe.Writer
	cols   []report.Column
	cells  []string
	headed bool
}

func (c *csvRows) head() error {
	if c.headed {
		return nil
	}
	c.headed = true
	for i, col := range c.cols {
		c.cells[i] = col.Name
	}
	return c.cw.Write(c.cells)
}

func (c *csvRows) Write(row []any) error {
	if err := c.head(); err != nil {
		return err
	}
	for i, col := range c.cols {
		c.cells[i] = Text(col, row[i])
	}
	return c.cw.Write(c.cells)
}

func (c *csvRows) Flush() error {
	if err := c.head(); err != nil {
		return err
	}
	c.cw.Flush()
	return c.cw.Error()
}

func (c *csvRows) Close() error { return c.Flush() }

// xlsxRows writes an xlsx (a zip of XML parts) as a stream: the fixed
// parts first, then the sheet's rows as they come, each cell typed as
// writeXLSX types it (numbers, money with its decimals, dates), strings
// inline (no shared-string table to hold).
type xlsxRows struct {
	w     io.Writer
	name  string
	cols  []report.Column
	zw    *zip.Writer
	sheet *bufio.Writer
	n     int // rows written, the header included
	ref   []string
	err   error
}

// The styles of the cells (xl/styles.xml's cellXfs, in this order).
const (
	styleBold    = 1
	styleMoney   = 2 // + decimals, 0 to 4
	styleHour    = 7
	styleDate    = 8
	styleInstant = 9
	styleFloat   = 10 // + decimals, 0 to 6
)

func (x *xlsxRows) start() error {
	if x.zw != nil || x.err != nil {
		return x.err
	}
	x.zw = zip.NewWriter(x.w)
	sheet := x.name
	if sheet == "" {
		sheet = "report"
	}
	var name strings.Builder
	xml.EscapeText(&name, []byte(sheet))
	parts := []struct{ path, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="` + name.String() + `" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`},
		{"xl/styles.xml", stylesXML()},
	}
	for _, p := range parts {
		f, err := x.zw.Create(p.path)
		if err == nil {
			_, err = io.WriteString(f, p.body)
		}
		if err != nil {
			x.err = err
			return err
		}
	}
	f, err := x.zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		x.err = err
		return err
	}
	x.sheet = bufio.NewWriterSize(f, 64<<10)
	x.sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>`)
	for i, c := range x.cols {
		fmt.Fprintf(x.sheet, `<col min="%d" max="%d" width="%d" customWidth="1"/>`, i+1, i+1, max(len(c.Name)+2, 12))
		x.ref = append(x.ref, colName(i))
	}
	x.sheet.WriteString(`</cols><sheetData>`)
	head := make([]any, len(x.cols))
	for i, c := range x.cols {
		head[i] = c.Name
	}
	return x.row(head, true)
}

// stylesXML is the styles part: the number formats of the kinds of
// column, as writeXLSX sets them.
func stylesXML() string {
	var fmts, xfs strings.Builder
	id := 164
	addFmt := func(code string) {
		fmt.Fprintf(&fmts, `<numFmt numFmtId="%d" formatCode="%s"/>`, id, code)
		fmt.Fprintf(&xfs, `<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`, id)
		id++
	}
	xfs.WriteString(`<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>`)
	for d := 0; d <= 4; d++ {
		addFmt(decimals("#,##0", d))
	}
	addFmt("yyyy-mm-dd hh:mm")
	addFmt("yyyy-mm-dd")
	addFmt("yyyy-mm-dd hh:mm:ss")
	for d := 0; d <= 6; d++ {
		addFmt(decimals("0", d))
	}
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="` + strconv.Itoa(id-164) + `">` + fmts.String() +
		`</numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
		`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="` + strconv.Itoa(2+id-164) + `">` + xfs.String() + `</cellXfs></styleSheet>`
}

func decimals(code string, d int) string {
	if d > 0 {
		code += "." + strings.Repeat("0", d)
	}
	return code
}

// excelEpoch is day 0 of a spreadsheet's dates (1900 date system).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

func (x *xlsxRows) Write(row []any) error {
	if err := x.start(); err != nil {
		return err
	}
	if x.n >= sheetRows {
		x.err = gateway.Errorf(gateway.KindInvalid, "more than %d rows: a spreadsheet's sheet holds no more; export them as CSV", sheetRows-1)
		return x.err
	}
	return x.row(row, false)
}

// row writes one row of cells; head: the bold header.
func (x *xlsxRows) row(cells []any, head bool) error {
	x.n++
	b := x.sheet
	r := strconv.Itoa(x.n)
	b.WriteString(`<row r="` + r + `">`)
	for i, c := range x.cols {
		ref := x.ref[i] + r
		style := 0
		if head {
			style = styleBold
		}
		num := func(v string, s int) {
			if s != 0 {
				b.WriteString(`<c r="` + ref + `" s="` + strconv.Itoa(s) + `"><v>` + v + `</v></c>`)
			} else {
				b.WriteString(`<c r="` + ref + `"><v>` + v + `</v></c>`)
			}
		}
		switch v := cells[i].(type) {
		case int64:
			num(strconv.FormatInt(v, 10), 0)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				num("0", 0)
				continue
			}
			num(strconv.FormatFloat(v, 'f', -1, 64), styleFloat+min(max(c.Decimals, 0), 6))
		case report.Amount:
			// The exact decimal: a number a spreadsheet reads as written.
			num(v.String(), styleMoney+min(max(v.Digits, 0), 4))
		case time.Time:
			if v.IsZero() {
				b.WriteString(`<c r="` + ref + `"/>`)
				continue
			}
			wall := time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
			days := float64(wall.Sub(excelEpoch)) / float64(24*time.Hour)
			s := styleInstant
			switch c.Kind {
			case report.Hour:
				s = styleHour
			case report.Date:
				s = styleDate
			}
			num(strconv.FormatFloat(days, 'f', -1, 64), s)
		default:
			s := fmt.Sprint(v)
			if str, ok := v.(string); ok {
				s = str
			}
			if s == "" {
				continue
			}
			b.WriteString(`<c r="` + ref + `" t="inlineStr"`)
			if style != 0 {
				b.WriteString(` s="` + strconv.Itoa(style) + `"`)
			}
			b.WriteString(`><is><t xml:space="preserve">`)
			xml.EscapeText(b, []byte(s))
			b.WriteString(`</t></is></c>`)
		}
	}
	_, err := b.WriteString(`</row>`)
	if err != nil {
		x.err = err
	}
	return err
}

func (x *xlsxRows) Flush() error {
	if err := x.start(); err != nil {
		return err
	}
	return x.sheet.Flush()
}

func (x *xlsxRows) Close() error {
	if err := x.start(); err != nil {
		return err
	}
	x.sheet.WriteString(`</sheetData></worksheet>`)
	if err := x.sheet.Flush(); err != nil {
		return err
	}
	return x.zw.Close()
}
