package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// callFilter is the calls list's query, shared by the CSV export.
type callFilter struct {
	From    string `query:"from"`    // YYYY-MM-DD, site's date, inclusive
	To      string `query:"to"`      // YYYY-MM-DD, inclusive
	Room    string `query:"room"`    //
	Ext     string `query:"ext"`     //
	State   string `query:"state"`   //
	Class   string `query:"class"`   //
	Account string `query:"account"` //
	Dialed  string `query:"dialed"`  // digits the dialed number contains
	Sort    string `query:"sort"`    // "new" (default) or "old"
	After   uint64 `query:"after"`   // the last entry of the previous page
}

var shortText = regexp.MustCompile(`^[A-Za-z0-9 ._#*+-]{0,32}$`)

const pageSize = 50

// parse checks the filter and turns it into the journal's filter and the
// conditions the journal's indices do not answer.
func (f callFilter) parse(loc *time.Location) (gateway.Filter, func(gateway.Entry) bool, error) {
	var jf gateway.Filter
	bad := func(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }
	day := func(name, s string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return t, bad(name + " must be a date like 2026-11-27")
		}
		return t, nil
	}
	if f.From != "" {
		t, err := day("from", f.From)
		if err != nil {
			return jf, nil, err
		}
		jf.From = t
	}
	if f.To != "" {
		t, err := day("to", f.To)
		if err != nil {
			return jf, nil, err
		}
		jf.To = t.AddDate(0, 0, 1)
		if !jf.From.IsZero() && jf.To.Before(jf.From) {
			return jf, nil, bad("to is before from")
		}
	}
	for name, v := range map[string]string{"room": f.Room, "ext": f.Ext, "class": f.Class, "account": f.Account, "dialed": f.Dialed} {
		if !shortText.MatchString(v) {
			return jf, nil, bad(name + " may hold up to 32 letters, digits, spaces and . _ # * + -")
		}
	}
	if f.State != "" {
		if !gateway.State(f.State).Valid() {
			return jf, nil, bad("state " + strconv.Quote(f.State) + " is not a journal state")
		}
		jf.States = []gateway.State{gateway.State(f.State)}
	}
	switch f.Sort {
	case "", "new":
		jf.Newest = true
	case "old":
	default:
		return jf, nil, bad("sort must be new or old")
	}
	jf.Room, jf.Extension, jf.After = f.Room, f.Ext, gateway.EntryID(f.After)
	match := func(e gateway.Entry) bool {
		if f.Class != "" && (e.Charge == nil || !strings.EqualFold(e.Charge.Class, f.Class)) {
			return false
		}
		if f.Account != "" && (e.Call == nil || e.Call.AccountCode != f.Account) {
			return false
		}
		if f.Dialed != "" && (e.Call == nil || !strings.Contains(e.Call.Dialed, f.Dialed)) {
			return false
		}
		return true
	}
	return jf, match, nil
}

// filterFor is parse for the viewer w, who may filter only on what w sees:
// the front desk's dialed condition is matched against the masked number
// (docs/console-security.md), so "0114" finds 0114xxxxxxxxxxx and digits
// past the mask find nothing, rather than telling which digits a number
// holds one query at a time.
func (s *Server) filterFor(w who, f callFilter) (gateway.Filter, func(gateway.Entry) bool, error) {
	if w.can(roleAuditor) || f.Dialed == "" {
		return f.parse(s.o.Location)
	}
	dialed := f.Dialed
	f.Dialed = ""
	jf, match, err := f.parse(s.o.Location)
	if err != nil {
		return jf, match, err
	}
	if !shortText.MatchString(dialed) {
		return jf, nil, echo.NewHTTPError(http.StatusBadRequest, "dialed may hold up to 32 letters, digits, spaces and . _ # * + -")
	}
	return jf, func(e gateway.Entry) bool {
		return match(e) && e.Call != nil && strings.Contains(s.mask(e.Call.Dialed), dialed)
	}, nil
}

// query returns the filter as a query string without the page cursor.
func (f callFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "room": f.Room, "ext": f.Ext, "state": f.State,
		"class": f.Class, "account": f.Account, "dialed": f.Dialed, "sort": f.Sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// collect reads entries matching jf and match, in batches, calling yield
// for each until yield returns false or the journal has no more.
func (s *Server) collect(ctx context.Context, jf gateway.Filter, match func(gateway.Entry) bool, yield func(gateway.Entry) bool) error {
	jf.Limit = 500
	for {
		es, err := s.o.Queries.Entries(ctx, jf)
		if err != nil {
			return err
		}
		for _, e := range es {
			if match(e) && !yield(e) {
				return nil
			}
		}
		if len(es) < jf.Limit {
			return nil
		}
		jf.After = es[len(es)-1].ID
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

type callsPage struct {
	F      callFilter
	Rows   []callRow
	Next   string // the next page's URL, "" at the end
	First  template.URL
	Export template.URL
	States []gateway.State
}

func (s *Server) calls(c echo.Context) error {
	var f callFilter
	if err := c.Bind(&f); err != nil {
		return filterError(err)
	}
	w := current(c)
	jf, match, err := s.filterFor(w, f)
	if err != nil {
		return err
	}
	q := f.query()
	// The query is built by url.Values.Encode: safe as a URL as it stands
	// (html/template would otherwise escape its = and &).
	p := callsPage{F: f, First: template.URL("/calls?" + q), Export: template.URL("/calls.csv?" + q), States: gateway.States}
	var more bool
	err = s.collect(c.Request().Context(), jf, match, func(e gateway.Entry) bool {
		if len(p.Rows) == pageSize {
			more = true
			return false
		}
		p.Rows = append(p.Rows, s.row(w, e))
		return true
	})
	if err != nil {
		return err
	}
	if more {
		if q != "" {
			q += "&"
		}
		p.Next = "/calls?" + q + "after=" + strconv.FormatUint(uint64(p.Rows[len(p.Rows)-1].ID), 10)
	}
	v := s.view(c, "Calls")
	v.Nav, v.Data = "calls", p
	return c.Render(http.StatusOK, "calls", v)
}
