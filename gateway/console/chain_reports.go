package console

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// chainOffered are the reports the chain console runs: every report of
// gateway/report but carriers, which re-rates under a property's tariffs.
func chainOffered() []report.Report {
	var out []report.Report
	for _, r := range report.Reports() {
		if r.Name != "carriers" {
			out = append(out, r)
		}
	}
	return out
}

// ChainSums is a Chain that sums the rated calls by key itself (in SQL:
// docs/chain-console.md), as gateway/report's by-key reports do, for
// properties (nil: every one) whose calls started in [from, to) on the wall
// clock.
type ChainSums interface {
	ChainSums(ctx context.Context, properties []string, key string, from, to time.Time) ([]report.KeySum, error)
}

// ChainPage is how many entries a report at the central or the calls'
// export reads at a time: what one of them holds in memory beside the
// report's own table.
var ChainPage = 2000

// ChainTraffic is a Chain that folds the hourly trunk traffic of the
// busy-hour and busy-days reports itself (in SQL: docs/chain-console.md),
// by the rules of gateway/report's own fold, for properties (nil: every
// one) over the wall-clock hours [from, to).
type ChainTraffic interface {
	ChainTraffic(ctx context.Context, properties []string, from, to time.Time) (report.Hourly, error)
}

// carriersAtCentral refuses the carriers report at the central.
const carriersAtCentral = "the carriers report re-rates under a property's tariffs: run it at the property"

// ChainReport runs report r over the central's entries of the properties
// list (nil: every one): gateway/report's own code over the entries as the
// properties' journals show them, so each report has one definition, over
// any number of entries (they are folded a page at a time).
// Dates are each call's local dates; clock hours are the property's zone
// when every property read has one zone, else UTC. The busy-hour reports
// take their hourly traffic from the chain when it folds it (ChainTraffic),
// the by-key reports their sums (ChainSums), and make the table with the
// same code.
func ChainReport(ctx context.Context, ch Chain, r report.Report, list []string, o report.Options) (*report.Table, error) {
	if r.Name == "carriers" {
		return nil, gateway.Errorf(gateway.KindInvalid, carriersAtCentral)
	}
	ps, err := ch.ChainProperties(ctx, list)
	if err != nil {
		return nil, err
	}
	zs := map[string]bool{}
	for _, p := range ps {
		zs[p.Site.Timezone] = true
	}
	o.Location = time.UTC
	if len(zs) == 1 {
		for z := range zs {
			if loc, err := time.LoadLocation(z); err == nil && z != "" {
				o.Location = loc
			}
		}
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if th := o.Thresholds; th.PremiumClasses == nil && th.LongCallMinutes == 0 && th.CostlyMinor == 0 && th.ShortCallS == 0 && th.UnusualFrom == th.UnusualTo {
		// The central has no report settings of its own: the exceptions
		// report takes the defaults a property's config starts from.
		o.Thresholds = report.DefaultThresholds()
	}
	t, err := chainTable(ctx, ch, r, list, o)
	if err != nil {
		return nil, err
	}
	if len(ps) > 1 {
		t.Title = fmt.Sprintf("%s (%d properties)", t.Title, len(ps))
	}
	return t, nil
}

// chainTable computes report r over the properties list with options o
// checked: in SQL where the chain folds it (ChainTraffic, ChainSums), else
// by folding the streamed entries.
func chainTable(ctx context.Context, ch Chain, r report.Report, list []string, o report.Options) (*report.Table, error) {
	if tc, ok := ch.(ChainTraffic); ok && r.ByHour() {
		from, to := report.TrafficPeriod(o)
		hs, err := tc.ChainTraffic(ctx, list, from, to)
		if err != nil {
			return nil, err
		}
		t, err := r.FromHourly(hs, o)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	if sc, ok := ch.(ChainSums); ok && r.SumKey(o) != "" {
		from, to := report.TrafficPeriod(o)
		sums, err := sc.ChainSums(ctx, list, r.SumKey(o), from, to)
		if err != nil {
			return nil, err
		}
		t, err := r.FromKeySums(sums, o)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	// Every other report folds the period's entries as they come, a page
	// at a time, by its own code (report.Fold): the sweeps (trunks,
	// all-busy) in the order the calls started.
	fo, err := r.Fold(o)
	if err != nil {
		return nil, err
	}
	// A fold whose table is known without the entries (all-busy with no
	// sized group, fraud with no rule) reads none.
	if fo.Reads() {
		start, end := o.Span()
		var page []gateway.Entry
		sc := ChainScan{Properties: list, From: start.Add(-26 * time.Hour), To: end.Add(26 * time.Hour), History: r.History, ByStart: r.ByStart(), Page: ChainPage}
		err = ch.ChainEach(ctx, sc, func(ces []ChainEntry) error {
			page = page[:0]
			for i := range ces {
				page = append(page, ces[i].Entry)
			}
			err := fo.Add(page) // the table's MaxRows: stop reading
			clear(page)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return fo.Table()
}

type chainReportsPage struct {
	reportsPage
	Picker picker
	// Shown is how many of the table's rows the page shows (ChainPageRows
	// at most); the download has them all.
	Shown int
}

// ChainPageRows is the most rows of a report the chain console's page
// shows: the rest are in the downloads (a report holds up to
// report.MaxRows).
var ChainPageRows = 2000

// chainReportTable checks the report form and, unless run is false (HEAD:
// the form checked, nothing read), runs it in one of the slots for
// reports and exports (chainSlot).
func (s *Server) chainReportTable(c echo.Context, run bool) (*report.Table, reportFilter, error) {
	var f reportFilter
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &f); err != nil {
		return nil, f, echo.NewHTTPError(http.StatusBadRequest, "the report's filter could not be read")
	}
	list, err := s.scope(c)
	if err != nil {
		return nil, f, err
	}
	if f.Report == "carriers" {
		return nil, f, echo.NewHTTPError(http.StatusBadRequest, carriersAtCentral)
	}
	o, err := s.reportOptions(&f)
	if err != nil || !run {
		return nil, f, err
	}
	r, _ := report.Lookup(f.Report)
	ctx, cancel := s.untilClose(c.Request().Context())
	defer cancel()
	release, err := s.chainSlot(ctx)
	if err != nil {
		return nil, f, s.clientGone(c, ctx, err, "report "+f.Report)
	}
	defer release()
	t, err := ChainReport(ctx, s.chain, r, list, o)
	if err != nil {
		return nil, f, s.clientGone(c, ctx, err, "report "+f.Report)
	}
	// The report is computed: its answer is written within the pages'
	// deadline, so that a client that stops reading cannot hold it.
	if err := s.setWriteDeadline(c, s.o.WriteTimeout); err != nil {
		return nil, f, err
	}
	return t, f, nil
}

func (s *Server) chainReports(c echo.Context) error {
	ctx := c.Request().Context()
	pk, err := s.picker(ctx, c)
	if err != nil {
		return err
	}
	p := chainReportsPage{reportsPage: reportsPage{Reports: chainOffered()}, Picker: pk}
	if c.QueryParam("report") == "" {
		y := s.o.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		p.F.From, p.F.To = y, y
	} else {
		head := c.Request().Method == http.MethodHead
		t, f, err := s.chainReportTable(c, !head)
		if err != nil {
			return err
		}
		if head {
			// HEAD: the page's type, without running the report.
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
			return c.NoContent(http.StatusOK)
		}
		p.F, p.Table, p.Chart = f, t, template.HTML(render.ChartSVG(t))
		for _, col := range t.Columns {
			p.Head = append(p.Head, col.Name)
		}
		shown := t.Rows[:min(len(t.Rows), ChainPageRows)]
		p.Shown = len(shown)
		for _, r := range shown {
			row := make([]reportCell, len(t.Columns))
			for j, col := range t.Columns {
				row[j] = reportCell{render.Text(col, r[j]), col.Kind == report.Int || col.Kind == report.Float || col.Kind == report.Money}
			}
			p.Rows = append(p.Rows, row)
		}
		for _, d := range downloadFormats {
			q := url.Values{"report": {f.Report}, "from": {f.From}, "to": {f.To}, "format": {d.Name}}
			if pk.Selected != "" {
				q.Set("property", pk.Selected)
			}
			p.Links = append(p.Links, reportLink{d.Name, "/reports/download?" + q.Encode()})
		}
	}
	v := s.view(c, "Reports")
	v.Nav, v.Data = "reports", p
	return c.Render(http.StatusOK, "chain_reports", v)
}

func (s *Server) chainReportDownload(c echo.Context) error {
	format := c.QueryParam("format")
	ctype := ""
	for _, d := range downloadFormats {
		if d.Name == format {
			ctype = d.Type
		}
	}
	if ctype == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "the download format "+quote(format)+" is not one of csv, json, xlsx, html")
	}
	head := c.Request().Method == http.MethodHead
	t, _, err := s.chainReportTable(c, !head)
	if err != nil {
		return err
	}
	if head {
		// HEAD: the download's type, without running the report.
		c.Response().Header().Set(echo.HeaderContentType, ctype)
		return c.NoContent(http.StatusOK)
	}
	// Rendered whole before a byte is sent (an error still gets its own
	// status): the table is bounded by report.MaxRows.
	var b bytes.Buffer
	if err := render.Write(&b, t, format); err != nil {
		return err
	}
	name := t.Name + "_" + t.From.Format(time.DateOnly) + "_" + t.To.Format(time.DateOnly) + "." + format
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, ctype, b.Bytes())
}
