package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway/report"
)

// writeXLSX writes one sheet named after the report: a header row, then the
// rows with numbers as numbers (money with its decimals as the number
// format) and times as dates; the notes below.
func writeXLSX(w io.Writer, t *report.Table) error {
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
		case report.Float:
			fmtCode = "0"
			if c.Decimals > 0 {
				fmtCode += "." + strings.Repeat("0", c.Decimals)
			}
		case report.Money:
			fmtCode = "#,##0.00"
		case report.Hour:
			fmtCode = "yyyy-mm-dd hh:mm"
		case report.Date:
			fmtCode = "yyyy-mm-dd"
		case report.Instant:
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
			case report.Amount:
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
