package console

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// reportFilter is the /reports form: GET query parameters, so that a
// report's page and its downloads are links.
type reportFilter struct {
	Report string `query:"report"`
	From   string `query:"from"`
	To     string `query:"to"`
	Format string `query:"format"`
}

// offered are the reports the console runs: all of them, but carriers only
// when the config lists alternative tariffs for it.
func (s *Server) offered() []report.Report {
	var out []report.Report
	for _, r := range report.Reports() {
		if r.Name != "carriers" || s.o.CarrierTariffs != nil {
			out = append(out, r)
		}
	}
	return out
}

// downloadFormats are the files /reports/download writes, with their
// content types.
var downloadFormats = []struct{ Name, Type string }{
	{"csv", "text/csv; charset=utf-8"},
	{"json", "application/json"},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"html", "text/html; charset=utf-8"},
}

type reportLink struct{ Format, URL string }

type reportCell struct {
	Text  string
	Right bool
}

type reportsPage struct {
	F       reportFilter
	Reports []report.Report
	Table   *report.Table
	Head    []string
	Rows    [][]reportCell
	Chart   template.HTML
	Links   []reportLink
}

// options checks the filter and returns the report's options: the
// configured ones (trunk groups, grade of service, thresholds) with the
// form's dates. An empty report name is no error: the page shows the form.
func (s *Server) reportOptions(f *reportFilter) (report.Options, error) {
	var o report.Options
	if s.o.ReportOptions != nil {
		o = s.o.ReportOptions()
	}
	if o.Location == nil {
		o.Location = s.o.Location
	}
	if o.MinorDigits == nil {
		o.MinorDigits = s.o.MinorDigits
	}
	if len(f.Report) > 40 || len(f.From) > 10 || len(f.To) > 10 || len(f.Format) > 10 {
		return o, echo.NewHTTPError(http.StatusBadRequest, "the report's filter is too long")
	}
	if _, err := report.Lookup(f.Report); err != nil {
		return o, echo.NewHTTPError(http.StatusBadRequest, "there is no report called "+quote(f.Report))
	}
	if f.Report == "carriers" {
		if s.o.CarrierTariffs == nil {
			return o, echo.NewHTTPError(http.StatusBadRequest, "the carriers report needs alternative tariff files: list them under report.carriers in the config, or run gateway report carriers --tariff FILE")
		}
		var err error
		if o.Tariffs, err = s.o.CarrierTariffs(); err != nil {
			return o, echo.NewHTTPError(http.StatusInternalServerError, err.Error()+": correct the file, or report.carriers in the config")
		}
	}
	if f.From == "" {
		return o, echo.NewHTTPError(http.StatusBadRequest, "a report needs the first date it covers (from)")
	}
	if f.To == "" {
		f.To = f.From
	}
	var err error
	if o.From, err = time.Parse(time.DateOnly, f.From); err != nil {
		return o, echo.NewHTTPError(http.StatusBadRequest, "from "+quote(f.From)+" is not a date like 2026-11-01")
	}
	if o.To, err = time.Parse(time.DateOnly, f.To); err != nil {
		return o, echo.NewHTTPError(http.StatusBadRequest, "to "+quote(f.To)+" is not a date like 2026-11-30")
	}
	if err := o.Check(); err != nil {
		return o, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return o, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// reports lists the reports with a form; with a report chosen, it runs it
// and shows the table, its chart and the download links.
func (s *Server) reports(c echo.Context) error {
	var f reportFilter
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the report's filter could not be read")
	}
	p := reportsPage{F: f, Reports: s.offered()}
	if f.Report != "" {
		o, err := s.reportOptions(&f)
		if err != nil {
			return err
		}
		p.F = f
		t, err := report.Generate(c.Request().Context(), s.o.Queries, f.Report, o)
		if err != nil {
			return err
		}
		p.Table, p.Chart = t, render.ChartSVG(t)
		for _, col := range t.Columns {
			p.Head = append(p.Head, col.Name)
		}
		for _, r := range t.Rows {
			row := make([]reportCell, len(t.Columns))
			for j, col := range t.Columns {
				row[j] = reportCell{render.Text(col, r[j]), col.Kind == report.Int || col.Kind == report.Float || col.Kind == report.Money}
			}
			p.Rows = append(p.Rows, row)
		}
		for _, d := range downloadFormats {
			q := url.Values{"report": {f.Report}, "from": {f.From}, "to": {f.To}, "format": {d.Name}}
			p.Links = append(p.Links, reportLink{d.Name, "/reports/download?" + q.Encode()})
		}
	} else {
		y := s.o.Now().In(s.o.Location).AddDate(0, 0, -1).Format(time.DateOnly)
		p.F.From, p.F.To = y, y
	}
	v := s.view(c, "Reports")
	v.Nav, v.Data = "reports", p
	return c.Render(http.StatusOK, "reports", v)
}

// reportDownload writes a report as a file: csv, json, xlsx or html.
func (s *Server) reportDownload(c echo.Context) error {
	var f reportFilter
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the report's filter could not be read")
	}
	ctype := ""
	for _, d := range downloadFormats {
		if d.Name == f.Format {
			ctype = d.Type
		}
	}
	if ctype == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "the download format "+quote(f.Format)+" is not one of csv, json, xlsx, html")
	}
	o, err := s.reportOptions(&f)
	if err != nil {
		return err
	}
	t, err := report.Generate(c.Request().Context(), s.o.Queries, f.Report, o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := render.Write(&b, t, f.Format); err != nil {
		return err
	}
	name := t.Name + "_" + t.From.Format(time.DateOnly) + "_" + t.To.Format(time.DateOnly) + "." + f.Format
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, b.Bytes())
}
