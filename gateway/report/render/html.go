package render

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"

	"callgate/gateway/report"
)

// writeHTML writes a standalone page: title, period, an inline SVG chart
// where the report has one, the table and the notes. No script, no outside
// file; a print style sheet fits it to A4 paper.
func writeHTML(w io.Writer, t *report.Table) error {
	type cell struct {
		Text  string
		Right bool
	}
	var head []string
	for _, c := range t.Columns {
		head = append(head, c.Name)
	}
	rows := make([][]cell, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = make([]cell, len(t.Columns))
		for j, c := range t.Columns {
			rows[i][j] = cell{Text(c, r[j]), c.Kind == report.Int || c.Kind == report.Float || c.Kind == report.Money}
		}
	}
	data := struct {
		T     *report.Table
		From  string
		To    string
		Head  []string
		Rows  [][]cell
		Chart template.HTML
	}{t, t.From.Format(time.DateOnly), t.To.Format(time.DateOnly), head, rows, chartSVG(t)}
	return pageTemplate.Execute(w, data)
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{.T.Title}}, {{.From}} to {{.To}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}
p.period{color:#555;margin:0 0 1em}
table{border-collapse:collapse;font-size:.9em}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f0f0f0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:0 0 1.5em}
svg{max-width:100%;height:auto}
svg .bar{fill:#3b6ea5}
svg text{font-size:11px;fill:#444}
svg line{stroke:#bbb}
ul.notes{padding-left:1.2em}
@media print{body{margin:0}th{background:none;border-bottom:2px solid #000}tr{break-inside:avoid}figure{break-inside:avoid}@page{size:A4;margin:15mm}}
</style></head>
<body>
<h1>{{.T.Title}}</h1>
<p class="period">{{.From}} to {{.To}} · report {{.T.Name}}</p>
{{if .Chart}}<figure id="chart">{{.Chart}}</figure>{{end}}
{{if .T.Notes}}<ul class="notes">{{range .T.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td{{if .Right}} class="n"{{end}}>{{.Text}}</td>{{end}}</tr>
{{else}}<tr><td colspan="{{len .Head}}">No rows.</td></tr>
{{end}}</tbody></table>
</body></html>
`))

// number returns a cell as a number for a chart.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case report.Amount:
		f, err := strconv.ParseFloat(x.String(), 64)
		return f, err == nil
	}
	return 0, false
}

// chartSVG draws the table's chart as a bar chart: one bar per row (at
// most the first 60 rows of a ranking; every row of a time series), with a
// scale on the left and some labels below.
func chartSVG(t *report.Table) template.HTML {
	if t.Chart == nil || len(t.Rows) == 0 {
		return ""
	}
	xi, yi := t.Col(t.Chart.X), t.Col(t.Chart.Y)
	if xi < 0 || yi < 0 {
		return ""
	}
	rows := t.Rows
	series := t.Columns[xi].Kind == report.Hour || t.Columns[xi].Kind == report.Date
	if !series && len(rows) > 60 {
		rows = rows[:60]
	}
	vals := make([]float64, len(rows))
	top := 0.0
	for i, r := range rows {
		v, _ := number(r[yi])
		vals[i] = v
		top = math.Max(top, v)
	}
	if top <= 0 {
		top = 1
	}
	top = niceCeil(top)
	const W, H, left, bottom, right, upper = 900.0, 280.0, 60.0, 40.0, 10.0, 24.0
	plotW, plotH := W-left-right, H-bottom-upper
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`, W, H, W, H, template.HTMLEscapeString(t.Chart.Title))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" style="font-size:13px;font-weight:600">%s</text>`, left, template.HTMLEscapeString(t.Chart.Title))
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := upper + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/>`, left, W-right, y, y)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`, left-4, y+4, strconv.FormatFloat(v, 'g', 4, 64))
	}
	step := plotW / float64(len(rows))
	gap := math.Min(step*0.2, 4)
	for i, v := range vals {
		h := plotH * v / top
		fmt.Fprintf(&b, `<rect class="bar" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %s</title></rect>`,
			left+float64(i)*step+gap/2, upper+plotH-h, math.Max(step-gap, 0.5), h,
			template.HTMLEscapeString(Text(t.Columns[xi], rows[i][xi])), template.HTMLEscapeString(Text(t.Columns[yi], rows[i][yi])))
	}
	labels := min(len(rows), 12)
	for k := 0; k < labels; k++ {
		i := k * len(rows) / labels
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, left+(float64(i)+0.5)*step, H-bottom+16,
			template.HTMLEscapeString(shortLabel(t.Columns[xi], rows[i][xi])))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func shortLabel(c report.Column, v any) string {
	if tm, ok := v.(time.Time); ok && c.Kind == report.Hour {
		return tm.Format("01-02 15h")
	}
	s := Text(c, v)
	if len(s) > 14 {
		s = s[:13] + "…"
	}
	return s
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// ChartSVG returns the inline SVG chart the HTML format draws for t ("" if
// the report has none), for a page that shows the table itself.
func ChartSVG(t *report.Table) template.HTML { return chartSVG(t) }
