package console

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// readOnlyNote is said on every chain page that shows postings.
const readOnlyNote = "This console is read-only: postings are reposted, voided and confirmed at the property's own console."

// picker is the property picker of a chain page.
type picker struct {
	Selected string   // the property parameter as asked ("" for all)
	Names    []string // the properties the user may see
}

// zones maps each property to its time zone (UTC when unknown).
type zones map[string]*time.Location

func (z zones) of(p string) *time.Location {
	if l, ok := z[p]; ok {
		return l
	}
	return time.UTC
}

// properties reads the properties of list (nil: every one) and their zones.
func (s *Server) properties(ctx context.Context, list []string) ([]ChainProperty, zones, error) {
	ps, err := s.chain.ChainProperties(ctx, list)
	if err != nil {
		return nil, nil, err
	}
	z := zones{}
	for _, p := range ps {
		if l, err := time.LoadLocation(p.Site.Timezone); err == nil && p.Site.Timezone != "" {
			z[p.Name] = l
		}
	}
	return ps, z, nil
}

func (s *Server) picker(ctx context.Context, c echo.Context) (picker, error) {
	ps, err := s.chain.ChainProperties(ctx, sees(c))
	if err != nil {
		return picker{}, err
	}
	pk := picker{Selected: c.QueryParam("property")}
	for _, p := range ps {
		pk.Names = append(pk.Names, p.Name)
	}
	return pk, nil
}

// propertyRow is one property on the chain dashboard.
type propertyRow struct {
	Name        string `json:"property"`
	Site        string `json:"site"`
	Timezone    string `json:"timezone"`
	Disabled    bool   `json:"disabled"`
	Epoch       string `json:"epoch"`
	Cursor      uint64 `json:"cursor"`
	LastEvent   string `json:"last_received_utc"`
	Lag         string `json:"lag"`           // since the last batch came, in words
	LagSeconds  int64  `json:"lag_seconds"`   // the same; -1 before the first batch
	LagEvents   int64  `json:"lag_events"`    // the property's head as last shipped less the cursor; -1 when unknown
	SnapshotAge string `json:"snapshot_utc"`  // when the property took the snapshot shown
	Link        string `json:"link"`          // as last shipped
	Queued      int64  `json:"queued"`        // as last shipped
	InDoubt     int64  `json:"in_doubt"`      // as last shipped
	Version     string `json:"version"`       // the property's gateway
	TodayCalls  int64  `json:"today_calls"`   // its own local day
	Today       string `json:"today_revenue"` // per currency, e.g. "12.40 EUR"
	Stale       bool   `json:"stale"`         // no batch for over 15 minutes
}

// staleAfter is how long without a batch marks a property on the
// dashboard: a shipper with work sends every few seconds.
const staleAfter = 15 * time.Minute

// dashboardRows reads the chain dashboard's rows of the properties list.
func (s *Server) dashboardRows(ctx context.Context, list []string) ([]propertyRow, error) {
	ps, _, err := s.properties(ctx, list)
	if err != nil {
		return nil, err
	}
	now := s.o.Now()
	day, err := s.chain.ChainToday(ctx, list, now)
	if err != nil {
		return nil, err
	}
	rows := make([]propertyRow, 0, len(ps))
	for _, p := range ps {
		r := propertyRow{Name: p.Name, Site: p.Site.Name, Timezone: p.Site.Timezone, Disabled: p.Disabled, Epoch: p.Epoch, Cursor: p.Cursor,
			LastEvent: utc(p.Received), SnapshotAge: utc(p.Site.At), Link: string(p.Site.Link), Queued: p.Site.Queued, InDoubt: p.Site.InDoubt,
			Version: p.Site.Version, LagSeconds: -1, LagEvents: -1, Lag: "nothing received yet"}
		if p.Site.Head > 0 && p.Site.Head >= p.Cursor {
			r.LagEvents = int64(p.Site.Head - p.Cursor)
		}
		if !p.Received.IsZero() {
			d := now.Sub(p.Received)
			r.LagSeconds = int64(d / time.Second)
			r.Lag = d.Truncate(time.Second).String()
			r.Stale = d > staleAfter
		}
		var money []string
		for _, d := range day {
			if d.Property == p.Name {
				r.TodayCalls += d.Calls
				money = append(money, s.money(d.RevenueMinor, d.Currency))
			}
		}
		r.Today = strings.Join(money, ", ")
		if r.Today == "" {
			r.Today = "—"
		}
		rows = append(rows, r)
	}
	return rows, nil
}

type chainDashboardPage struct {
	Picker picker
	Rows   []propertyRow
	Note   string
}

// chainDashboard shows every property the user may see (or those picked).
func (s *Server) chainDashboard(c echo.Context) error {
	ctx := c.Request().Context()
	list, err := s.scope(c)
	if err != nil {
		return err
	}
	pk, err := s.picker(ctx, c)
	if err != nil {
		return err
	}
	rows, err := s.dashboardRows(ctx, list)
	if err != nil {
		return err
	}
	v := s.view(c, "Chain")
	v.Nav, v.Data = "dashboard", chainDashboardPage{Picker: pk, Rows: rows, Note: readOnlyNote}
	return c.Render(http.StatusOK, "chain_dashboard", v)
}

func (s *Server) chainAPIProperties(c echo.Context) error {
	list, err := s.scope(c)
	if err != nil {
		return err
	}
	rows, err := s.dashboardRows(c.Request().Context(), list)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"properties": rows})
}

// chainQuery is the chain calls list's query.
type chainQuery struct {
	From  string `query:"from"`
	To    string `query:"to"`
	Room  string `query:"room"`
	Ext   string `query:"ext"`
	State string `query:"state"`
	Class string `query:"class"`
	Page  int    `query:"page"`
}

// maxPage bounds the calls list's pages: deeper than that, narrow the
// filter or export.
const maxPage = 2000

func (s *Server) chainFilter(c echo.Context) (ChainFilter, chainQuery, error) {
	var q chainQuery
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return ChainFilter{}, q, echo.NewHTTPError(http.StatusBadRequest, "the calls' filter could not be read: page must be a number")
	}
	list, err := s.scope(c)
	if err != nil {
		return ChainFilter{}, q, err
	}
	f := ChainFilter{Properties: list, Room: q.Room, Extension: q.Ext, State: q.State, Class: q.Class}
	bad := func(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }
	for name, v := range map[string]string{"room": q.Room, "ext": q.Ext, "class": q.Class} {
		if !shortText.MatchString(v) {
			return f, q, bad(name + " may hold up to 32 letters, digits, spaces and . _ # * + -")
		}
	}
	if q.State != "" && !gateway.State(q.State).Valid() {
		return f, q, bad("state " + strconv.Quote(q.State) + " is not a journal state")
	}
	if q.From != "" {
		if f.From, err = time.Parse(time.DateOnly, q.From); err != nil {
			return f, q, bad("from must be a date like 2026-11-27")
		}
	}
	if q.To != "" {
		if f.To, err = time.Parse(time.DateOnly, q.To); err != nil {
			return f, q, bad("to must be a date like 2026-11-27")
		}
		if !f.From.IsZero() && f.To.Before(f.From) {
			return f, q, bad("to is before from")
		}
	}
	if q.Page < 0 || q.Page > maxPage {
		return f, q, bad(fmt.Sprintf("page runs from 0 to %d: narrow the filter, or export", maxPage))
	}
	f.Offset, f.Limit = q.Page*pageSize, pageSize+1
	return f, q, nil
}

// chainCallRow is one call of the chain's list.
type chainCallRow struct {
	Property    string `json:"property"`
	Epoch       string `json:"epoch"`
	Entry       uint64 `json:"entry"`
	Local       string `json:"start_local"`
	UTC         string `json:"start_utc"`
	Extension   string `json:"extension"`
	Room        string `json:"room"`
	Dialed      string `json:"dialed"`
	DurationS   int    `json:"duration_s"`
	Direction   string `json:"direction"`
	Class       string `json:"class"`
	Total       string `json:"total"`
	State       string `json:"state"`
	Posting     uint32 `json:"posting,omitempty"`
	NeedsPerson bool   `json:"needs_person"`
}

func (s *Server) chainRow(w who, z zones, e ChainEntry) chainCallRow {
	r := chainCallRow{Property: e.Property, Epoch: e.Epoch, Entry: uint64(e.ID), Room: e.Room, State: string(e.State), Posting: e.Posting,
		NeedsPerson: e.State.NeedsPerson(), UTC: utc(e.Time), Local: "—"}
	if !e.Time.IsZero() {
		r.Local = e.Time.In(z.of(e.Property)).Format("2006-01-02 15:04:05")
	}
	if e.Call != nil {
		r.Extension, r.Dialed, r.DurationS, r.Direction = e.Call.Extension, s.number(w, e.Call.Dialed), e.Call.DurationS, string(e.Call.Direction)
	}
	if e.Charge != nil {
		r.Class, r.Total = e.Charge.Class, s.money(e.Charge.TotalMinor, e.Charge.Currency)
	}
	return r
}

type chainCallsPage struct {
	Picker     picker
	Q          chainQuery
	States     []gateway.State
	Rows       []chainCallRow
	Prev, Next string
	Exports    []reportLink
	Note       string
}

// chainCallsRows reads one page of calls.
func (s *Server) chainCallsRows(c echo.Context) ([]chainCallRow, chainQuery, bool, error) {
	f, q, err := s.chainFilter(c)
	if err != nil {
		return nil, q, false, err
	}
	ctx := c.Request().Context()
	_, z, err := s.properties(ctx, f.Properties)
	if err != nil {
		return nil, q, false, err
	}
	es, err := s.chain.ChainCalls(ctx, f)
	if err != nil {
		return nil, q, false, err
	}
	more := len(es) > pageSize
	if more {
		es = es[:pageSize]
	}
	w := current(c)
	rows := make([]chainCallRow, 0, len(es))
	for _, e := range es {
		rows = append(rows, s.chainRow(w, z, e))
	}
	return rows, q, more, nil
}

func (s *Server) chainCalls(c echo.Context) error {
	rows, q, more, err := s.chainCallsRows(c)
	if err != nil {
		return err
	}
	pk, err := s.picker(c.Request().Context(), c)
	if err != nil {
		return err
	}
	p := chainCallsPage{Picker: pk, Q: q, States: gateway.States, Rows: rows, Note: readOnlyNote}
	base := url.Values{}
	for k, v := range map[string]string{"property": pk.Selected, "from": q.From, "to": q.To, "room": q.Room, "ext": q.Ext, "state": q.State, "class": q.Class} {
		if v != "" {
			base.Set(k, v)
		}
	}
	link := func(page int) string {
		u := url.Values{}
		for k, v := range base {
			u[k] = v
		}
		u.Set("page", strconv.Itoa(page))
		return "/calls?" + u.Encode()
	}
	if q.Page > 0 {
		p.Prev = link(q.Page - 1)
	}
	if more && q.Page < maxPage {
		p.Next = link(q.Page + 1)
	}
	if current(c).can(roleAuditor) {
		for _, f := range []string{"csv", "xlsx"} {
			u := url.Values{}
			for k, v := range base {
				u[k] = v
			}
			u.Set("format", f)
			p.Exports = append(p.Exports, reportLink{f, "/calls/export?" + u.Encode()})
		}
	}
	v := s.view(c, "Calls")
	v.Nav, v.Data = "calls", p
	return c.Render(http.StatusOK, "chain_calls", v)
}

func (s *Server) chainAPICalls(c echo.Context) error {
	rows, q, more, err := s.chainCallsRows(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"calls": rows, "page": q.Page, "more": more})
}

// maxExport is the most calls one export holds: the export is built in
// memory (XLSX needs the whole sheet), so a bigger one is refused with a
// sentence rather than risk the central's memory.
const maxExport = 200_000

// chainCallsExport writes the filtered calls of every property asked as
// CSV or XLSX, through gateway/report/render (the reports' writer).
func (s *Server) chainCallsExport(c echo.Context) error {
	format := c.QueryParam("format")
	ctype := ""
	for _, d := range downloadFormats {
		if d.Name == format && (format == "csv" || format == "xlsx") {
			ctype = d.Type
		}
	}
	if ctype == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "the export format "+quote(format)+" is not csv or xlsx")
	}
	f, _, err := s.chainFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	_, z, err := s.properties(ctx, f.Properties)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = 0, maxExport+1
	es, err := s.chain.ChainCalls(ctx, f)
	if err != nil {
		return err
	}
	if len(es) > maxExport {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d calls match: narrow the dates or the properties", maxExport))
	}
	t := &report.Table{Name: "calls", Title: "Calls across properties", Columns: []report.Column{
		{Name: "property"}, {Name: "epoch"}, {Name: "entry", Kind: report.Int}, {Name: "start_local", Kind: report.Instant}, {Name: "start_utc"},
		{Name: "extension"}, {Name: "room"}, {Name: "dialed"}, {Name: "duration_s", Kind: report.Int}, {Name: "direction"},
		{Name: "class"}, {Name: "total", Kind: report.Money}, {Name: "currency"}, {Name: "state"}, {Name: "posting", Kind: report.Int}}}
	w := current(c)
	for _, e := range es {
		var local time.Time
		var ext, dialed, dir, class, cur string
		var dur int64
		var total report.Amount
		if e.Call != nil {
			local, ext, dialed, dur, dir = e.Call.Start, e.Call.Extension, s.number(w, e.Call.Dialed), int64(e.Call.DurationS), string(e.Call.Direction)
		} else if !e.Time.IsZero() {
			local = e.Time.In(z.of(e.Property))
		}
		if e.Charge != nil {
			class, cur = e.Charge.Class, e.Charge.Currency
			total = report.Amount{Minor: e.Charge.TotalMinor, Digits: s.digits(cur)}
		}
		t.Rows = append(t.Rows, []any{e.Property, e.Epoch, int64(e.ID), local, e.Time.UTC().Format(time.RFC3339), ext, e.Room, dialed, dur, dir,
			class, total, cur, string(e.State), int64(e.Posting)})
	}
	var b bytes.Buffer
	if err := render.Write(&b, t, format); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="calls.`+format+`"`)
	return c.Blob(http.StatusOK, ctype, b.Bytes())
}

func (s *Server) digits(currency string) int {
	if s.o.MinorDigits != nil {
		if n, ok := s.o.MinorDigits(currency); ok {
			return n
		}
	}
	return 2
}

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

// ChainReportLimit is the most entries a report reads at the central when
// the chain neither folds nor sums it (ChainTraffic, ChainSums): they are held in memory, as at a
// property, where a busy month is about a million.
var ChainReportLimit int64 = 1_000_000

// ChainTraffic is a Chain that folds the hourly trunk traffic of the
// busy-hour and busy-days reports itself (in SQL: docs/chain-console.md),
// by the rules of gateway/report's own fold, for properties (nil: every
// one) over the wall-clock hours [from, to).
type ChainTraffic interface {
	ChainTraffic(ctx context.Context, properties []string, from, to time.Time) (report.Hourly, error)
}

// ChainReport runs report r over the central's entries of the properties
// list (nil: every one): gateway/report's own code over the entries as the
// properties' journals show them, so each report has one definition.
// Dates are each call's local dates; clock hours are the property's zone
// when every property read has one zone, else UTC. The busy-hour reports
// take their hourly traffic from the chain when it folds it (ChainTraffic),
// the by-key reports their sums (ChainSums), and make the table with the
// same code.
func ChainReport(ctx context.Context, ch Chain, r report.Report, list []string, o report.Options) (*report.Table, error) {
	if r.Name == "carriers" {
		return nil, gateway.Errorf(gateway.KindInvalid, "the carriers report re-rates under a property's tariffs: run it at the property")
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
		if len(ps) > 1 {
			t.Title = fmt.Sprintf("%s (%d properties)", t.Title, len(ps))
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
		if len(ps) > 1 {
			t.Title = fmt.Sprintf("%s (%d properties)", t.Title, len(ps))
		}
		return t, nil
	}
	start, end := o.Span()
	n, err := ch.ChainCount(ctx, list, start.Add(-26*time.Hour), end.Add(26*time.Hour))
	if err != nil {
		return nil, err
	}
	if n > ChainReportLimit {
		return nil, gateway.Errorf(gateway.KindInvalid, "the %s report would read %d calls, over the %d one report reads at the central: pick fewer properties or a shorter period (busy-hour, busy-days and the reports by room, extension, account, class and destination run over any number)",
			r.Name, n, ChainReportLimit)
	}
	ces, err := ch.ChainEntries(ctx, list, start.Add(-26*time.Hour), end.Add(26*time.Hour), r.History)
	if err != nil {
		return nil, err
	}
	in := report.InPeriod(o)
	es := make([]gateway.Entry, 0, len(ces))
	for i := range ces {
		if in(&ces[i].Entry) {
			es = append(es, ces[i].Entry)
		}
	}
	t, err := r.Run(es, o)
	if err != nil {
		return nil, err
	}
	if len(ps) > 1 {
		t.Title = fmt.Sprintf("%s (%d properties)", t.Title, len(ps))
	}
	return t, nil
}

type chainReportsPage struct {
	reportsPage
	Picker picker
}

// chainReportTable checks the report form and runs it.
func (s *Server) chainReportTable(c echo.Context) (*report.Table, reportFilter, error) {
	var f reportFilter
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &f); err != nil {
		return nil, f, echo.NewHTTPError(http.StatusBadRequest, "the report's filter could not be read")
	}
	list, err := s.scope(c)
	if err != nil {
		return nil, f, err
	}
	if f.Report == "carriers" {
		return nil, f, echo.NewHTTPError(http.StatusBadRequest, "the carriers report re-rates under a property's tariffs: run it at the property")
	}
	o, err := s.reportOptions(&f)
	if err != nil {
		return nil, f, err
	}
	r, _ := report.Lookup(f.Report)
	t, err := ChainReport(c.Request().Context(), s.chain, r, list, o)
	return t, f, err
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
		t, f, err := s.chainReportTable(c)
		if err != nil {
			return err
		}
		p.F, p.Table, p.Chart = f, t, template.HTML(render.ChartSVG(t))
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
	t, _, err := s.chainReportTable(c)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := render.Write(&b, t, format); err != nil {
		return err
	}
	name := t.Name + "_" + t.From.Format(time.DateOnly) + "_" + t.To.Format(time.DateOnly) + "." + format
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, ctype, b.Bytes())
}
