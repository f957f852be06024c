package console

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// actions are what a person may do with an entry that needs one.
var actions = map[string]gateway.State{
	"confirm":  gateway.StatePostedByHand, // the auditor found it on the folio
	"repost":   gateway.StateReposted,     // send it again, with a new P#
	"transfer": gateway.StateTransferred,  // post it to another room
	"void":     gateway.StateVoided,       // never charge it
}

type exceptionsPage struct {
	Groups []exceptionGroup
	Done   []string
	Failed []string
}

type exceptionGroup struct {
	State gateway.State
	Title string
	Rows  []exceptionRow
}

type exceptionRow struct {
	callRow
	Reason string
}

// queueTitles are the queues that need a person, in the order shown.
var queueTitles = []struct {
	state gateway.State
	title string
}{
	{gateway.StateInDoubt, "In doubt: sent, never answered — check the folio"},
	{gateway.StateRefused, "Refused by the PMS"},
	{gateway.StateException, "Exceptions: not postable as read"},
}

func (s *Server) exceptionsData(c echo.Context) (exceptionsPage, error) {
	var p exceptionsPage
	w := current(c)
	for _, q := range queueTitles {
		es, err := s.o.Queries.Entries(c.Request().Context(), gateway.Filter{States: []gateway.State{q.state}, History: true, Limit: 500})
		if err != nil {
			return p, err
		}
		g := exceptionGroup{State: q.state, Title: q.title}
		for _, e := range es {
			r := exceptionRow{callRow: s.row(w, e)}
			if n := len(e.History); n > 0 {
				r.Reason = e.History[n-1].Reason
			}
			g.Rows = append(g.Rows, r)
		}
		p.Groups = append(p.Groups, g)
	}
	return p, nil
}

func (s *Server) exceptions(c echo.Context) error {
	p, err := s.exceptionsData(c)
	if err != nil {
		return err
	}
	v := s.view(c, "Exceptions and in doubt")
	v.Nav, v.Data = "exceptions", p
	return c.Render(http.StatusOK, "exceptions", v)
}

// resolveForm is one action on one or many entries.
type resolveForm struct {
	IDs    []uint64 `form:"id"`
	Action string   `form:"action"`
	Reason string   `form:"reason"`
	Room   string   `form:"room"`
}

var roomText = regexp.MustCompile(`^[A-Za-z0-9-]{1,10}$`)

// resolve applies an action to the entries chosen, each moved and audited
// by the journal with the user and the reason.
func (s *Server) resolve(c echo.Context) error {
	var f resolveForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read: entry numbers must be whole numbers")
	}
	done, failed, err := s.apply(c, f)
	if err != nil {
		return err
	}
	p, err := s.exceptionsData(c)
	if err != nil {
		return err
	}
	v := s.view(c, "Exceptions and in doubt")
	v.Nav = "exceptions"
	if len(done) > 0 {
		ids := make([]string, len(done))
		for i, id := range done {
			ids[i] = strconv.FormatUint(id, 10)
		}
		v.Notice = fmt.Sprintf("%s: call %s (%s)", f.Action, strings.Join(ids, ", "), actions[f.Action])
	}
	p.Failed = failed
	v.Data = p
	code := http.StatusOK
	if len(done) == 0 {
		code = http.StatusConflict
		v.Message = "nothing was changed"
	}
	return c.Render(code, "exceptions", v)
}

// apply checks an action and applies it to each entry; it returns the
// entries moved and, for the others, why not. A bad request is an
// *echo.HTTPError; a failing journal is returned as is.
func (s *Server) apply(c echo.Context, f resolveForm) (done []uint64, failed []string, err error) {
	to, ok := actions[f.Action]
	f.Reason = strings.TrimSpace(f.Reason)
	f.Room = strings.TrimSpace(f.Room)
	switch {
	case !ok:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "choose an action: confirm, repost, transfer or void")
	case len(f.IDs) == 0:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "choose at least one call")
	case len(f.IDs) > 500:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "at most 500 calls at once")
	case f.Reason == "":
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "give a reason: it goes into the audit log")
	case len(f.Reason) > 500:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "a reason may have at most 500 characters")
	case to == gateway.StateTransferred && !roomText.MatchString(f.Room):
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "a transfer needs the room to charge (letters, digits, -)")
	case to != gateway.StateTransferred && f.Room != "":
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "a room is only for a transfer")
	}
	w := current(c)
	ctx := c.Request().Context()
	queued := false
	for _, id := range f.IDs {
		ch := gateway.Change{To: to, Actor: w.user, Reason: f.Reason}
		if to == gateway.StateTransferred {
			ch.Room = f.Room
		}
		if _, err := s.o.Journal.Move(ctx, gateway.EntryID(id), ch); err != nil {
			if !gateway.IsKind(err, gateway.KindInvalid) && !gateway.IsKind(err, gateway.KindNotFound) && !gateway.IsKind(err, gateway.KindTransient) {
				return done, failed, err
			}
			failed = append(failed, fmt.Sprintf("call %d: %s", id, gateway.Message(err)))
			continue
		}
		queued = queued || to == gateway.StateReposted || to == gateway.StateTransferred
		done = append(done, id)
		s.o.Logger.Info().Uint64("entry", id).Str("user", w.user).Str("to", string(to)).Msg("console: entry resolved")
	}
	if queued {
		s.o.Engine.Wake()
	}
	return done, failed, nil
}
