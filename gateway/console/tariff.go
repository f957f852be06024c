package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type tariffQuery struct {
	Search   string `query:"q"`
	Dialed   string `query:"dialed"`
	Start    string `query:"start"`    // site wall clock, 2006-01-02T15:04
	Duration string `query:"duration"` // seconds
}

type destRow struct {
	Prefix, Name, Class, Rates, Increments, Setup, Minimum string
}

type tariffPage struct {
	Q         tariffQuery
	CanReload bool
	Summary   []string
	Rows      []destRow
	Total     int
	Shown     int
	Try       []kvRow
	TryNote   string
}

const destsShown = 300

// tariff shows the tariff in force, its destinations (searchable), and
// rates a call someone tries.
func (s *Server) tariff(c echo.Context) error {
	var q tariffQuery
	if err := c.Bind(&q); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	if len(q.Search) > 64 {
		return echo.NewHTTPError(http.StatusBadRequest, "the search may have at most 64 characters")
	}
	t := s.o.Tariff
	now := s.o.Now().In(s.o.Location)
	wall := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), now.Minute(), now.Second(), 0, time.UTC)
	p := tariffPage{Q: q, Summary: strings.Split(strings.TrimSpace(t.Summary()), "\n"), CanReload: s.o.ReloadTariff != nil && current(c).can(roleAdmin)}
	search := strings.ToLower(strings.TrimSpace(q.Search))
	for _, d := range t.Destinations(wall) {
		if search != "" && !strings.HasPrefix(d.Prefix, search) && !strings.Contains(strings.ToLower(d.Name), search) && !strings.EqualFold(d.Class, search) {
			continue
		}
		p.Total++
		if len(p.Rows) == destsShown {
			continue
		}
		var rates []string
		for _, r := range d.Rates {
			rates = append(rates, r.Band+" "+s.decimal(r.PerMinuteMinor, d.Currency))
		}
		p.Rows = append(p.Rows, destRow{Prefix: d.Prefix, Name: d.Name, Class: d.Class, Rates: strings.Join(rates, " · ") + " " + d.Currency + "/min",
			Increments: strconv.Itoa(d.FirstS) + "/" + strconv.Itoa(d.NextS) + " s", Setup: s.money(d.SetupMinor, d.Currency), Minimum: s.money(d.MinimumMinor, d.Currency)})
	}
	p.Shown = len(p.Rows)
	if q.Dialed != "" || q.Start != "" || q.Duration != "" {
		if err := s.try(&p, q, wall); err != nil {
			return err
		}
	}
	v := s.view(c, "Tariff")
	v.Nav, v.Data = "tariff", p
	return c.Render(http.StatusOK, "tariff", v)
}

// try rates the call in the "try a number" form.
func (s *Server) try(p *tariffPage, q tariffQuery, now time.Time) error {
	bad := func(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }
	dialed := strings.TrimSpace(q.Dialed)
	if dialed == "" || len(dialed) > 32 || strings.Trim(dialed, "0123456789*#+") != "" {
		return bad("dialed: give the digits as the guest dialed them (0-9, *, #, +; up to 32)")
	}
	start := now
	if q.Start != "" {
		t, err := time.Parse("2006-01-02T15:04", q.Start)
		if err != nil {
			return bad("start must be a date and time like 2026-11-27T21:30")
		}
		start = t
	}
	dur, err := strconv.Atoi(q.Duration)
	if err != nil || dur < 0 || dur > 86400 {
		return bad("duration: give the seconds, 0 to 86400")
	}
	utcStart := time.Date(start.Year(), start.Month(), start.Day(), start.Hour(), start.Minute(), start.Second(), 0, s.o.Location).UTC()
	call := gateway.Call{Format: "console", Extension: "try", Dialed: dialed, Start: start, StartUTC: utcStart, DurationS: dur,
		Direction: gateway.Outgoing, Answered: gateway.Bool(dur > 0)}
	ch, err := s.o.Tariff.Rate(call)
	if err != nil {
		if gateway.IsKind(err, gateway.KindInvalid) {
			return bad("the tariff cannot rate this call: " + gateway.Message(err))
		}
		return err
	}
	m := func(v int64) string { return s.money(v, ch.Currency) }
	exc := "none"
	if ch.Exception != nil {
		exc = *ch.Exception
	}
	p.Try = []kvRow{
		{"Class", ch.Class}, {"Destination", ch.Destination}, {"Prefix", ch.Prefix}, {"E.164", ch.E164}, {"Band", ch.Band},
		{"Tariff edition", ch.TariffVersion}, {"Billable", strconv.Itoa(ch.BillableS) + " s"}, {"Chargeable", strconv.FormatBool(ch.Chargeable)},
		{"Carrier cost", m(ch.CarrierMinor)}, {"Markup", m(ch.MarkupMinor)}, {"Surcharge", m(ch.SurchargeMinor)}, {"Tax", m(ch.TaxMinor)},
		{"Total", m(ch.TotalMinor)}, {"Exception", exc},
	}
	p.TryNote = dialed + ", " + start.Format("2006-01-02 15:04") + " site time, " + strconv.Itoa(dur) + " s"
	return nil
}

// reloadTariff loads the tariff file again (admin), audited.
func (s *Server) reloadTariff(c echo.Context) error {
	w := current(c)
	if !s.o.ReloadTariff() {
		s.audit(c.Request().Context(), w.user, "tariff-reload", "requested from the console: refused, the file has problems", map[string]string{})
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "the tariff file has problems (gateway rate --check lists them): the tariff in force stays")
	}
	s.audit(c.Request().Context(), w.user, "tariff-reload", "requested from the console", map[string]string{})
	return c.Redirect(http.StatusSeeOther, "/tariff?reloaded=1")
}
