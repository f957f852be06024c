package console

import (
	"html/template"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// view is what every page gets: the layout's facts and the page's own Data.
type view struct {
	Title   string
	Site    string
	User    string
	Role    string
	CSRF    string
	Nav     string
	Status  int
	Message string
	Notice  string
	Tariff  bool // the tariff page exists
	Chain   bool // the chain console's navigation (chain.go)
	Data    any
}

func (s *Server) view(c echo.Context, title string) view {
	w := current(c)
	tok, _ := c.Get("csrf").(string)
	return view{Title: title, Site: s.o.Site, User: w.user, Role: w.role, CSRF: tok, Tariff: s.o.Tariff != nil, Chain: s.chain != nil}
}

// CanAudit and IsAdmin drive the navigation.
func (v view) CanAudit() bool { return rank(v.Role) >= rank(roleAuditor) }

func (v view) IsAdmin() bool { return rank(v.Role) >= rank(roleAdmin) }

var funcs = template.FuncMap{
	"join": strings.Join,
}

// wall writes an instant as the site's wall clock.
func (s *Server) wall(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(s.o.Location).Format("2006-01-02 15:04:05")
}

func utc(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// money writes minor units in the currency's major unit.
func (s *Server) money(minor int64, currency string) string {
	return s.decimal(minor, currency) + " " + currency
}

func (s *Server) decimal(minor int64, currency string) string {
	return gateway.FormatMinor(minor, s.digits(currency))
}

// mask hides all but the configured leading digits of a number.
func (s *Server) mask(number string) string {
	k := s.o.MaskDigits
	if len(number) <= k {
		return number
	}
	return number[:k] + strings.Repeat("x", len(number)-k)
}

// number shows a dialed number as w may see it: whole to auditors, masked
// to the front desk.
func (s *Server) number(w who, n string) string {
	if w.can(roleAuditor) {
		return n
	}
	return s.mask(n)
}

// callRow is one call in a list.
type callRow struct {
	ID          gateway.EntryID
	Local, UTC  string
	Extension   string
	Room        string
	Dialed      string
	DurationS   int
	Direction   string
	Class       string
	Total       string
	State       gateway.State
	AccountCode string
	Posting     uint32
	NeedsPerson bool
}

func (s *Server) row(w who, e gateway.Entry) callRow {
	r := callRow{ID: e.ID, Local: s.wall(e.Time), UTC: utc(e.Time), Room: e.Room, State: e.State, Posting: e.Posting, NeedsPerson: e.State.NeedsPerson()}
	if e.Call != nil {
		r.Extension, r.Dialed, r.DurationS, r.Direction, r.AccountCode = e.Call.Extension, s.number(w, e.Call.Dialed), e.Call.DurationS, string(e.Call.Direction), e.Call.AccountCode
	}
	if e.Charge != nil {
		r.Class, r.Total = e.Charge.Class, s.money(e.Charge.TotalMinor, e.Charge.Currency)
	}
	return r
}
