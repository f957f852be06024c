package console

import (
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type statementQuery struct {
	From string `query:"from"`
	To   string `query:"to"`
}

type statementLine struct {
	Local, Dialed, Destination string
	DurationS                  int
	Charge                     string
}

type statementTotal struct {
	Currency, Total string
}

type statementPage struct {
	Room     string
	Guest    string
	From, To string
	Lines    []statementLine
	Totals   []statementTotal
	Pending  int
	Printed  string
	Q        statementQuery
}

// statement is a room's calls charged to its folio over a stay: the
// current guest's (from the arrival the PMS gave) or the dates chosen. A
// clean page to print for a guest who queries the folio at check-out;
// numbers are masked as the hotel configures, whoever prints it.
func (s *Server) statement(c echo.Context) error {
	room := c.Param("room")
	if !roomText.MatchString(room) {
		return echo.NewHTTPError(http.StatusBadRequest, "a room has 1 to 10 letters, digits or -")
	}
	var q statementQuery
	if err := c.Bind(&q); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the dates could not be read")
	}
	ctx := c.Request().Context()
	loc := s.o.Location
	now := s.o.Now().In(loc)
	gs, err := s.o.Queries.Guests(ctx, room)
	if err != nil {
		return err
	}
	p := statementPage{Room: room, Q: q, Printed: s.wall(s.o.Now())}
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -6)
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	if len(gs) > 0 {
		g := gs[0]
		p.Guest = g.LastName
		if g.Title != "" && g.LastName != "" {
			p.Guest = g.Title + " " + g.LastName
		}
		if !g.Arrival.IsZero() {
			from = time.Date(g.Arrival.Year(), g.Arrival.Month(), g.Arrival.Day(), 0, 0, 0, 0, loc)
		}
	}
	if q.From != "" {
		t, err := time.ParseInLocation("2006-01-02", q.From, loc)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "from must be a date like 2026-11-27")
		}
		from = t
	}
	if q.To != "" {
		t, err := time.ParseInLocation("2006-01-02", q.To, loc)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "to must be a date like 2026-11-27")
		}
		to = t.AddDate(0, 0, 1)
	}
	if !to.After(from) {
		return echo.NewHTTPError(http.StatusBadRequest, "to is before from")
	}
	p.From, p.To = from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")
	es, err := s.o.Queries.Entries(ctx, gateway.Filter{Room: room, From: from, To: to})
	if err != nil {
		return err
	}
	totals := map[string]int64{}
	for _, e := range es {
		if e.Call == nil || e.Charge == nil {
			continue
		}
		switch e.State {
		case gateway.StatePosted, gateway.StatePostedByHand:
		case gateway.StateQueued, gateway.StateSent, gateway.StateResolving, gateway.StateInDoubt:
			p.Pending++
			continue
		default:
			continue
		}
		p.Lines = append(p.Lines, statementLine{Local: s.wall(e.Time), Dialed: s.mask(e.Call.Dialed), Destination: e.Charge.Destination,
			DurationS: e.Call.DurationS, Charge: s.money(e.Charge.TotalMinor, e.Charge.Currency)})
		totals[e.Charge.Currency] += e.Charge.TotalMinor
	}
	for cur, t := range totals {
		p.Totals = append(p.Totals, statementTotal{cur, s.money(t, cur)})
	}
	sort.Slice(p.Totals, func(i, j int) bool { return p.Totals[i].Currency < p.Totals[j].Currency })
	v := s.view(c, "Room "+room+" statement")
	v.Nav, v.Data = "rooms", p
	return c.Render(http.StatusOK, "statement", v)
}
