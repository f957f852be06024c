package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
	"callgate/internal/csvsafe"
)

// CSVColumns are the export's columns, in order. They are stable: new
// columns are only ever added at the end. Amounts are decimal strings in
// the row's currency (12.79), times are the site's wall clock and UTC.
var CSVColumns = []string{
	"entry", "state", "start_local", "start_utc", "extension", "room", "dialed", "duration_s",
	"direction", "trunk", "account_code", "class", "destination", "band", "billable_s",
	"carrier", "markup", "surcharge", "tax", "total", "currency", "tariff_version",
	"posting", "pms_answer",
}

// exportCSV writes every call matching the calls list's filter (all pages)
// as CSV: RFC 4180 (CRLF line ends, quotes where needed), UTF-8, every cell
// made safe for a spreadsheet (internal/csvsafe: a dialed number or account
// code beginning with = is text, never a formula).
//
// The export streams: the journal is read a page at a time (memory stays
// bounded) and it runs without the other pages' 30 s deadline (routes.go),
// however slow the client. If it is cut after the status line went out (a
// journal error, the client gone, the console closing), the response is
// aborted, so that the client sees a broken transfer rather than a clean
// end with rows missing; see docs/design.md ("CSV exports").
func (s *Server) exportCSV(c echo.Context) error {
	var f callFilter
	if err := c.Bind(&f); err != nil {
		return filterError(err)
	}
	f.After = 0
	jf, match, err := f.parse(s.o.Location)
	if err != nil {
		return err
	}
	res := c.Response()
	// A server-wide write timeout must not cut a long export either.
	_ = http.NewResponseController(res).SetWriteDeadline(time.Time{})
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	go func() {
		select {
		case <-s.done: // Close: the console is stopping
			cancel()
		case <-ctx.Done():
		}
	}()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="calls-`+s.o.Now().In(s.o.Location).Format("20060102-1504")+`.csv"`)
	// No WriteHeader yet: the status goes out with the first 4 KB of rows,
	// so an error before then is still answered with its own status.
	cw := csvsafe.NewWriter(res)
	cw.Write(CSVColumns)
	var werr error
	err = s.collect(ctx, jf, match, func(e gateway.Entry) bool {
		werr = cw.Write(s.csvRow(e))
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err == nil {
		return nil
	}
	if !res.Committed {
		return err
	}
	// The status line is sent: abort the response (net/http closes the
	// connection without the final chunk), so the client cannot take
	// the rows it has for all of them.
	s.o.Logger.Error().Err(err).Msg("console: CSV export cut short; the response is aborted")
	panic(http.ErrAbortHandler)
}

func (s *Server) csvRow(e gateway.Entry) []string {
	r := make([]string, len(CSVColumns))
	r[0], r[1] = strconv.FormatUint(uint64(e.ID), 10), string(e.State)
	if !e.Time.IsZero() {
		r[2], r[3] = e.Time.In(s.o.Location).Format("2006-01-02T15:04:05"), e.Time.UTC().Format(time.RFC3339)
	}
	r[5] = e.Room
	if k := e.Call; k != nil {
		r[4], r[6], r[7], r[8], r[9], r[10] = k.Extension, k.Dialed, strconv.Itoa(k.DurationS), string(k.Direction), k.Trunk, k.AccountCode
	}
	if ch := e.Charge; ch != nil {
		d := func(v int64) string { return s.decimal(v, ch.Currency) }
		r[11], r[12], r[13], r[14] = ch.Class, ch.Destination, ch.Band, strconv.Itoa(ch.BillableS)
		r[15], r[16], r[17], r[18], r[19] = d(ch.CarrierMinor), d(ch.MarkupMinor), d(ch.SurchargeMinor), d(ch.TaxMinor), d(ch.TotalMinor)
		r[20], r[21] = ch.Currency, ch.TariffVersion
	}
	if e.Posting != 0 {
		r[22] = strconv.FormatUint(uint64(e.Posting), 10)
	}
	if e.Answer != nil {
		r[23] = e.Answer.Code
	}
	return r
}
