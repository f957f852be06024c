package console

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// The JSON API under /api/v1/: the same facts and actions as the pages,
// for PMS-side or finance integrations. A request carries a user's API
// token (gateway user token NAME) as "Authorization: Bearer TOKEN"; the
// user's role applies as on the pages. No cookies, so no CSRF token.

// requireToken lets through requests with a valid token of an enabled user
// whose role is at least role.
func (s *Server) requireToken(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			auth := c.Request().Header.Get(echo.HeaderAuthorization)
			token, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || token == "" || len(token) > 200 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="callgate"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "an API token is required: Authorization: Bearer TOKEN (gateway user token NAME)")
			}
			hash := TokenHash(token)
			u, err := s.o.Users.UserByToken(c.Request().Context(), hash)
			if gateway.IsKind(err, gateway.KindNotFound) || (err == nil && (u.Disabled || !holds(u, hash))) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="callgate", error="invalid_token"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "the API token is not valid")
			}
			if err != nil {
				return err
			}
			c.Set("who", who{u.Name, u.Role})
			if rank(u.Role) < rank(role) {
				return echo.NewHTTPError(http.StatusForbidden, "this endpoint is for the "+role+" role and above; the token's user is "+u.Role)
			}
			return next(c)
		}
	}
}

// holds checks, in constant time, that u holds the token hash.
func holds(u gateway.User, hash []byte) bool {
	found := 0
	for _, t := range u.Tokens {
		found |= subtle.ConstantTimeCompare(t.Hash, hash)
	}
	return found == 1
}

// apiCalls lists calls with the calls page's filter; next_after continues
// the listing (as after=).
func (s *Server) apiCalls(c echo.Context) error {
	var f callFilter
	if err := c.Bind(&f); err != nil {
		return filterError(err)
	}
	limit := 100
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return echo.NewHTTPError(http.StatusBadRequest, "limit must be a number from 1 to 1000")
		}
		limit = n
	}
	w := current(c)
	jf, match, err := s.filterFor(w, f)
	if err != nil {
		return err
	}
	out := struct {
		Calls     []gateway.Entry `json:"calls"`
		NextAfter *uint64         `json:"next_after"`
	}{Calls: []gateway.Entry{}}
	more := false
	err = s.collect(c.Request().Context(), jf, match, func(e gateway.Entry) bool {
		if len(out.Calls) == limit {
			more = true
			return false
		}
		out.Calls = append(out.Calls, s.forRole(w, e))
		return true
	})
	if err != nil {
		return err
	}
	if more {
		id := uint64(out.Calls[len(out.Calls)-1].ID)
		out.NextAfter = &id
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiCall(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "a call is named by its entry number")
	}
	e, err := s.o.Queries.Entry(c.Request().Context(), gateway.EntryID(id))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.forRole(current(c), e))
}

// apiQueues lists the entries that need a person, by queue (state): each
// queue's total, a page of its entries (newest first, or oldest with
// order=old; limit, default 100, at most 1,000) and next_after, which
// continues the listing with queue= and after=.
func (s *Server) apiQueues(c echo.Context) error {
	q, err := parseQueueQuery(c, "limit", 100, 1000)
	if err != nil {
		return err
	}
	type queue struct {
		Total     int64           `json:"total"`
		Entries   []gateway.Entry `json:"entries"`
		NextAfter *uint64         `json:"next_after"`
	}
	ctx := c.Request().Context()
	counts, err := s.o.Queries.Counts(ctx)
	if err != nil {
		return err
	}
	out := map[gateway.State]queue{}
	for _, qt := range queueTitles {
		if q.Queue != "" && q.Queue != string(qt.state) {
			continue
		}
		es, more, err := s.queuePageOf(ctx, qt.state, q)
		if err != nil {
			return err
		}
		if es == nil {
			es = []gateway.Entry{}
		}
		g := queue{Total: counts.States[qt.state], Entries: es}
		if more {
			id := uint64(es[len(es)-1].ID)
			g.NextAfter = &id
		}
		out[qt.state] = g
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiStatus(c echo.Context) error {
	sn, err := s.snapshot(c.Request().Context(), current(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sn)
}

type apiAction struct {
	IDs    []uint64 `json:"ids"`
	Action string   `json:"action"` // confirm, repost, transfer, void
	Reason string   `json:"reason"`
	Room   string   `json:"room"` // transfer only
}

// apiActions applies one action to entries, as the exceptions page does.
func (s *Server) apiActions(c echo.Context) error {
	var a apiAction
	if err := c.Bind(&a); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the body must be JSON like {\"ids\":[12],\"action\":\"confirm\",\"reason\":\"…\"}")
	}
	done, failed, err := s.apply(c, resolveForm{IDs: a.IDs, Action: a.Action, Reason: a.Reason, Room: a.Room})
	if err != nil {
		return err
	}
	if done == nil {
		done = []uint64{}
	}
	if failed == nil {
		failed = []string{}
	}
	code := http.StatusOK
	if len(done) == 0 {
		code = http.StatusConflict
	}
	return c.JSON(code, map[string]any{"done": done, "failed": failed})
}
