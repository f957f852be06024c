package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
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
