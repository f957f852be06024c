package console

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type guestRow struct {
	Room, Reservation, Name, Arrival, Departure, ClassOfService string
	Shared, NoPost                                              bool
}

type roomsPage struct {
	Rows       []guestRow
	Rooms      int
	PMSState   string
	Resyncing  bool
	LastResync string
	GuestData  bool
	CanResync  bool
}

// day writes a date-only time, "" for none.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// rooms lists the guests in house as the PMS reported them.
func (s *Server) rooms(c echo.Context) error {
	gs, err := s.o.Queries.Guests(c.Request().Context(), "")
	if err != nil {
		return err
	}
	st := s.o.Engine.Status()
	p := roomsPage{PMSState: string(st.PMS.State), Resyncing: st.PMS.Resync, LastResync: s.wall(st.LastResync), GuestData: st.GuestData,
		CanResync: current(c).can(roleAdmin)}
	rooms := map[string]bool{}
	for _, g := range gs {
		rooms[g.Room] = true
		name := strings.TrimSpace(strings.Join([]string{g.Title, g.FirstName, g.LastName}, " "))
		p.Rows = append(p.Rows, guestRow{Room: g.Room, Reservation: g.Reservation, Name: strings.Join(strings.Fields(name), " "),
			Arrival: day(g.Arrival), Departure: day(g.Departure),
			ClassOfService: g.ClassOfService, Shared: g.Shared, NoPost: g.NoPost})
	}
	sort.SliceStable(p.Rows, func(i, j int) bool { return p.Rows[i].Room < p.Rows[j].Room })
	p.Rooms = len(rooms)
	v := s.view(c, "Rooms and guests")
	v.Nav, v.Data = "rooms", p
	return c.Render(http.StatusOK, "rooms", v)
}

// resync asks the PMS for its guest database (admin), audited.
func (s *Server) resync(c echo.Context) error {
	w := current(c)
	ctx := c.Request().Context()
	if err := s.o.Engine.Resync(ctx); err != nil {
		if gateway.IsKind(err, gateway.KindTransient) || gateway.IsKind(err, gateway.KindInvalid) {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "the PMS cannot be asked now: "+gateway.Message(err))
		}
		return err
	}
	s.audit(ctx, w.user, "resync-request", "requested from the console", map[string]string{})
	s.o.Logger.Info().Str("user", w.user).Msg("console: resync with the PMS requested")
	return c.Redirect(http.StatusSeeOther, "/rooms?resync=asked")
}
