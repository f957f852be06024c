package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

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

// chainExportColumns are the chain calls export's columns.
var chainExportColumns = []report.Column{
	{Name: "property"}, {Name: "epoch"}, {Name: "entry", Kind: report.Int}, {Name: "start_local", Kind: report.Instant}, {Name: "start_utc"},
	{Name: "extension"}, {Name: "room"}, {Name: "dialed"}, {Name: "duration_s", Kind: report.Int}, {Name: "direction"},
	{Name: "class"}, {Name: "total", Kind: report.Money}, {Name: "currency"}, {Name: "state"}, {Name: "posting", Kind: report.Int}}

// chainCallsExport writes the filtered calls of every property asked as
// CSV or XLSX, through gateway/report/render's RowWriter, as the central
// returns them: a page at a time from one snapshot (ChainExport), however
// many. An XLSX holds at most a sheet's rows (render.MaxSheetRows): above,
// the export is refused before a byte is sent, with a sentence saying to
// use CSV. The export takes one of the slots for reports and exports
// (chain_slots.go), runs without the pages' deadline as a whole, but each
// page it writes must be written within the write timeout: a client that
// stops reading ends it. It ends with the request (the client gone) or the
// console's Close; cut after the status line went out, the response is
// aborted, so that the client sees a broken transfer rather than a clean
// end with rows missing (as the property console's CSV export,
// docs/chain-console.md).
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
	if c.Request().Method == http.MethodHead {
		// A stream's HEAD: its type, without reading the calls.
		c.Response().Header().Set(echo.HeaderContentType, ctype)
		return c.NoContent(http.StatusOK)
	}
	ctx, cancel := s.untilClose(c.Request().Context())
	defer cancel()
	release, err := s.chainSlot(ctx)
	if err != nil {
		return s.clientGone(c, ctx, err, "calls export")
	}
	defer release()
	_, z, err := s.properties(ctx, f.Properties)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = 0, 0
	res := c.Response()
	var count func(int64) error
	if format == "xlsx" {
		count = func(n int64) error {
			if n > render.MaxSheetRows-1 {
				return gateway.Errorf(gateway.KindInvalid, "%d calls match, more than the %d rows a spreadsheet's sheet holds: export them as CSV, or narrow the dates or the properties", n, render.MaxSheetRows-1)
			}
			return nil
		}
	}
	var rw render.RowWriter
	// The writer starts at the first page (after the count): an error
	// before it is still answered with its own status. Each page, and the
	// end, has the write timeout to be written.
	open := func() error {
		if err := s.setWriteDeadline(c, s.o.WriteTimeout); err != nil {
			return err
		}
		if rw != nil {
			return nil
		}
		res.Header().Set(echo.HeaderContentType, ctype)
		res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="calls.`+format+`"`)
		var err error
		rw, err = render.NewRowWriter(res, "calls", chainExportColumns, format)
		return err
	}
	w := current(c)
	row := make([]any, len(chainExportColumns))
	err = s.chain.ChainExport(ctx, f, ChainPage, count, func(es []ChainEntry) error {
		if err := open(); err != nil {
			return errClientWrite{err}
		}
		for _, e := range es {
			s.chainExportRow(row, w, z, &e)
			if err := rw.Write(row); err != nil {
				return errClientWrite{err}
			}
		}
		if err := rw.Flush(); err != nil {
			return errClientWrite{err}
		}
		return nil
	})
	if err == nil {
		if err = open(); err == nil {
			err = rw.Close()
		}
		if err != nil {
			err = errClientWrite{err}
		}
	}
	if err == nil {
		return nil
	}
	err = s.clientGone(c, ctx, err, "calls export")
	if !res.Committed {
		return err
	}
	// The status line is sent: abort the response (net/http closes the
	// connection without the final chunk).
	if !errors.As(err, new(errGone)) {
		s.o.Logger.Error().Err(err).Msg("chain console: calls export cut short; the response is aborted")
	}
	panic(http.ErrAbortHandler)
}

// untilClose returns ctx, also ended by the console's Close: for what runs
// without the pages' deadline (the export, the reports).
func (s *Server) untilClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.done: // Close: the console is stopping
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// chainExportRow fills row with e's cells (chainExportColumns).
func (s *Server) chainExportRow(row []any, w who, z zones, e *ChainEntry) {
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
	row[0], row[1], row[2], row[3], row[4] = e.Property, e.Epoch, int64(e.ID), local, e.Time.UTC().Format(time.RFC3339)
	row[5], row[6], row[7], row[8], row[9] = ext, e.Room, dialed, dur, dir
	row[10], row[11], row[12], row[13], row[14] = class, total, cur, string(e.State), int64(e.Posting)
}

func (s *Server) digits(currency string) int {
	if s.o.MinorDigits != nil {
		if n, ok := s.o.MinorDigits(currency); ok {
			return n
		}
	}
	return 2
}
