package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
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
	Q      queueQuery // the listing asked for
	Bulk   bulkForm   // the bulk form's values
	// Confirm, when set, is the bulk action's confirmation step: what the
	// filter matches now.
	Confirm *bulkMatch
	BulkMax int // the most entries one action by filter moves
}

type exceptionGroup struct {
	State gateway.State
	Title string
	Total int64 // every entry in the queue, not only those shown
	// First and Last number the rows shown within the queue's order (from
	// 1); Rows are at most Q.Per.
	First, Last int
	Rows        []exceptionRow
	Next, Top   string // links to the next page and to the first, "" for none
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

// queuePage is the rows a page of the exceptions shows by default, and
// queuePageMax the most it shows (?per=).
const (
	queuePage    = 50
	queuePageMax = 500
)

// queueQuery is a listing of the queues: one queue (Queue) or all three,
// newest first unless Order is "old", a page of Per entries after entry
// After (the last of the page before, which was at position At).
type queueQuery struct {
	Queue string
	Order string // "new" or "old"
	After uint64
	At    int // how many entries came before this page (for the numbers shown)
	Per   int
}

// parseQueueQuery reads the listing's query parameters.
// size names the page size's parameter (per on the page, limit in the
// API), with its default and maximum.
func parseQueueQuery(c echo.Context, size string, def, max int) (queueQuery, error) {
	q := queueQuery{Queue: c.QueryParam("queue"), Order: c.QueryParam("order"), Per: def}
	if q.Order == "" {
		q.Order = "new"
	}
	if q.Order != "new" && q.Order != "old" {
		return q, echo.NewHTTPError(http.StatusBadRequest, "order is new (newest first) or old (oldest first)")
	}
	if q.Queue != "" && queueTitle(gateway.State(q.Queue)) == "" {
		return q, echo.NewHTTPError(http.StatusBadRequest, "queue is in-doubt, refused or exception")
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{size, &q.Per, max}, {"at", &q.At, math.MaxInt32}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > p.max || p.name == size && n == 0 {
				return q, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be a whole number up to %d", p.name, p.max))
			}
			*p.dst = n
		}
	}
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return q, echo.NewHTTPError(http.StatusBadRequest, "after is an entry number")
		}
		q.After = n
	}
	if q.After != 0 && q.Queue == "" {
		return q, echo.NewHTTPError(http.StatusBadRequest, "after pages one queue: give queue too")
	}
	return q, nil
}

func queueTitle(s gateway.State) string {
	for _, q := range queueTitles {
		if q.state == s {
			return q.title
		}
	}
	return ""
}

// link is the exceptions page listing q.
func (q queueQuery) link() string {
	v := url.Values{"queue": {q.Queue}, "order": {q.Order}}
	if q.After != 0 {
		v.Set("after", strconv.FormatUint(q.After, 10))
		v.Set("at", strconv.Itoa(q.At))
	}
	if q.Per != queuePage {
		v.Set("per", strconv.Itoa(q.Per))
	}
	return "/exceptions?" + v.Encode()
}

// queuePageOf reads one page of queue state as q asks: the entries (with
// history, for the reason), and whether more follow. It reads at most
// q.Per+1 entries.
func (s *Server) queuePageOf(ctx context.Context, state gateway.State, q queueQuery) ([]gateway.Entry, bool, error) {
	es, err := s.o.Queries.Entries(ctx, gateway.Filter{States: []gateway.State{state}, History: true, Limit: q.Per + 1,
		Newest: q.Order != "old", After: gateway.EntryID(q.After)})
	if err != nil {
		return nil, false, err
	}
	if len(es) > q.Per {
		return es[:q.Per], true, nil
	}
	return es, false, nil
}

// reason is why an entry waits: the reason of its last move.
func reason(e gateway.Entry) string {
	if n := len(e.History); n > 0 {
		return e.History[n-1].Reason
	}
	return ""
}

func (s *Server) exceptionsData(c echo.Context) (exceptionsPage, error) {
	p := exceptionsPage{Bulk: bulkForm{Queue: string(gateway.StateException), Kind: "unreadable"}, BulkMax: bulkMax}
	q, err := parseQueueQuery(c, "per", queuePage, queuePageMax)
	if err != nil {
		return p, err
	}
	p.Q = q
	w := current(c)
	ctx := c.Request().Context()
	counts, err := s.o.Queries.Counts(ctx)
	if err != nil {
		return p, err
	}
	for _, qt := range queueTitles {
		if q.Queue != "" && q.Queue != string(qt.state) {
			continue
		}
		es, more, err := s.queuePageOf(ctx, qt.state, q)
		if err != nil {
			return p, err
		}
		g := exceptionGroup{State: qt.state, Title: qt.title, Total: counts.States[qt.state], First: q.At + 1, Last: q.At + len(es)}
		for _, e := range es {
			g.Rows = append(g.Rows, exceptionRow{callRow: s.row(w, e), Reason: reason(e)})
		}
		here := q
		here.Queue = string(qt.state)
		if more {
			next := here
			next.After, next.At = uint64(es[len(es)-1].ID), g.Last
			g.Next = next.link()
		}
		if q.After != 0 {
			top := here
			top.After, top.At = 0, 0
			g.Top = top.link()
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
	to, err := checkAction(&f.Action, &f.Reason, &f.Room)
	switch {
	case err != nil:
		return nil, nil, err
	case len(f.IDs) == 0:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "choose at least one call")
	case len(f.IDs) > 500:
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "at most 500 calls at once (to act on more, use the action by filter)")
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

// checkAction checks a person's action, its reason and its room (trimmed
// in place), and returns the state the action moves to.
func checkAction(action, reason, room *string) (gateway.State, error) {
	to, ok := actions[*action]
	*reason, *room = strings.TrimSpace(*reason), strings.TrimSpace(*room)
	switch {
	case !ok:
		return "", echo.NewHTTPError(http.StatusBadRequest, "choose an action: confirm, repost, transfer or void")
	case *reason == "":
		return "", echo.NewHTTPError(http.StatusBadRequest, "give a reason: it goes into the audit log")
	case len(*reason) > 500:
		return "", echo.NewHTTPError(http.StatusBadRequest, "a reason may have at most 500 characters")
	case to == gateway.StateTransferred && !roomText.MatchString(*room):
		return "", echo.NewHTTPError(http.StatusBadRequest, "a transfer needs the room to charge (letters, digits, -)")
	case to != gateway.StateTransferred && *room != "":
		return "", echo.NewHTTPError(http.StatusBadRequest, "a room is only for a transfer")
	}
	return to, nil
}
