package console

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type auditFilter struct {
	Actor string `query:"actor"`
	Text  string `query:"q"`
}

type auditRow struct {
	Seq        uint64
	Local, UTC string
	Actor      string
	Action     string
	Entry      uint64
	Reason     string
	Detail     string
}

type auditPage struct {
	F     auditFilter
	Rows  []auditRow
	Total int
}

const auditShown = 500

// auditLog lists the audit log, newest first: every person's move of an
// entry and every audit record (logins locked, configuration and tariff
// changes, starts).
func (s *Server) auditLog(c echo.Context) error {
	var f auditFilter
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the filter could not be read")
	}
	if len(f.Actor) > 64 || len(f.Text) > 100 {
		return echo.NewHTTPError(http.StatusBadRequest, "the filter is too long")
	}
	evs, err := s.o.Queries.Events(c.Request().Context(), gateway.EventFilter{Audit: true})
	if err != nil {
		return err
	}
	p := auditPage{F: f}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		r := auditRow{Seq: ev.Seq, Local: s.wall(ev.Time), UTC: utc(ev.Time), Actor: ev.Actor, Reason: ev.Reason, Entry: uint64(ev.Entry)}
		if ev.Kind == gateway.EventAudit {
			var d struct {
				Action string            `json:"action"`
				Detail map[string]string `json:"detail"`
			}
			json.Unmarshal(ev.Data, &d)
			r.Action = d.Action
			keys := make([]string, 0, len(d.Detail))
			for k := range d.Detail {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				b.WriteString(k + "=" + d.Detail[k] + " ")
			}
			r.Detail = strings.TrimSpace(b.String())
		} else {
			r.Action = string(ev.From) + " → " + string(ev.To)
			r.Detail = "call " + strconv.FormatUint(uint64(ev.Entry), 10)
		}
		if f.Actor != "" && !strings.EqualFold(r.Actor, f.Actor) {
			continue
		}
		if f.Text != "" && !strings.Contains(strings.ToLower(r.Action+" "+r.Reason+" "+r.Detail), strings.ToLower(f.Text)) {
			continue
		}
		p.Total++
		if len(p.Rows) < auditShown {
			p.Rows = append(p.Rows, r)
		}
	}
	v := s.view(c, "Audit log")
	v.Nav, v.Data = "audit", p
	return c.Render(http.StatusOK, "audit", v)
}
