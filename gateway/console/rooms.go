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
	Rows []guestRow
	// Rooms is the number of occupied rooms; Shown the rooms on this page,
	// from the room First; Next the first room of the next page ("" on the
	// last).
	Rooms, Shown int
	First, Next  string
	PMSState     string
	Resyncing    bool
	LastResync   string
	GuestData    bool
	CanResync    bool
}

// day writes a date-only time, "" for none.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// roomsPerPage is how many rooms (with all their guests) a page of /rooms
// shows: a hotel's whole house, or a page of a storm's, never megabytes.
const roomsPerPage = 200

// rooms lists the guests in house as the PMS reported them, a page of
// roomsPerPage rooms at a time from the room ?from= on.
func (s *Server) rooms(c echo.Context) error {
	from := c.QueryParam("from")
	if len(from) > 100 {
		return echo.NewHTTPError(http.StatusBadRequest, "from is not a room number: it is longer than 100 characters")
	}
	gp, err := s.o.Queries.GuestsPage(c.Request().Context(), from, roomsPerPage)
	if err != nil {
		return err
	}
	gs := gp.Guests
	st := s.o.Engine.Status()
	p := roomsPage{PMSState: string(st.PMS.State), Resyncing: st.PMS.Resync, LastResync: s.wall(st.LastResync), GuestData: st.GuestData,
		CanResync: current(c).can(roleAdmin), Rooms: gp.Rooms, Next: gp.Next}
	if from != "" {
		p.First = from
	}
	rooms := map[string]bool{}
	for _, g := range gs {
		rooms[g.Room] = true
		name := strings.TrimSpace(strings.Join([]string{g.Title, g.FirstName, g.LastName}, " "))
		p.Rows = append(p.Rows, guestRow{Room: g.Room, Reservation: g.Reservation, Name: strings.Join(strings.Fields(name), " "),
			Arrival: day(g.Arrival), Departure: day(g.Departure),
			ClassOfService: g.ClassOfService, Shared: g.Shared, NoPost: g.NoPost})
	}
	sort.SliceStable(p.Rows, func(i, j int) bool { return p.Rows[i].Room < p.Rows[j].Room })
	p.Shown = len(rooms)
	if from != "" && len(p.Rows) > 0 {
		p.First = p.Rows[0].Room
	}
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
