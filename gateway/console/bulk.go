package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// Actions by filter on the exceptions queues (issue 14's D5): one action,
// with one reason, on every entry of a queue that a filter matches — e.g.
// void every unreadable record of a junk flood. Two steps: the first counts
// what the filter matches and changes nothing; the second gives that
// count back (expect) and applies the action, refused if the filter now
// matches another number. Each entry's move is its own audited event, as a
// single action's; one more audit record names the bulk action, its
// filter and what it did.

// bulkMax is the most entries one action by filter moves: a bigger filter
// is refused (narrow the time range and repeat), so that one request stays
// well within the console's 30 s (the journal moves about 60,000 entries a
// second in batches of bulkBatch) and its list of entries small. A var for
// the tests (export_test.go).
var bulkMax = 100_000

// bulkBatch is how many moves are committed together (Journal.MoveAll).
const bulkBatch = 500

// bulkForm is an action by filter, as the page's form and the API give it.
type bulkForm struct {
	Queue  string `form:"queue" json:"state"`
	From   string `form:"from" json:"from"` // the site's wall clock: 2006-01-02 or 2006-01-02T15:04
	To     string `form:"to" json:"to"`     // a date alone is up to the end of that day
	Kind   string `form:"kind" json:"kind"` // "all" (or "") or "unreadable": records that could not be read as a call
	Action string `form:"action" json:"action"`
	Reason string `form:"reason" json:"reason"`
	Room   string `form:"room" json:"room"`
	// Expect is the count the person confirmed (the form's second step);
	// nil asks for the count only.
	Expect *int `form:"expect" json:"expect"`
}

// bulkMatch is what a filter matches now.
type bulkMatch struct {
	Form   bulkForm
	Count  int
	IDs    []gateway.EntryID
	Sample []exceptionRow // the first few, for the confirmation
	// Filter describes the filter in words.
	Filter string
}

var errBulkTooMany = errors.New("too many")

// wallTime reads the site's wall clock as a form or the API gives it;
// end makes a date alone mean the end of that day.
func wallTime(v string, loc *time.Location, end bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%q is not a time: write 2026-11-27 or 2026-11-27T14:00 (the site's wall clock)", v))
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// filter checks f's filter and returns it as a journal filter.
func (f *bulkForm) filter(loc *time.Location) (gateway.Filter, error) {
	var jf gateway.Filter
	st := gateway.State(f.Queue)
	if queueTitle(st) == "" {
		return jf, echo.NewHTTPError(http.StatusBadRequest, "choose the queue to act on: in-doubt, refused or exception")
	}
	if f.Kind == "" {
		f.Kind = "all"
	}
	if f.Kind != "all" && f.Kind != "unreadable" {
		return jf, echo.NewHTTPError(http.StatusBadRequest, "kind is all or unreadable (records that could not be read as a call)")
	}
	from, err := wallTime(f.From, loc, false)
	if err != nil {
		return jf, err
	}
	to, err := wallTime(f.To, loc, true)
	if err != nil {
		return jf, err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return jf, echo.NewHTTPError(http.StatusBadRequest, "the end of the time range is not after its start")
	}
	return gateway.Filter{States: []gateway.State{st}, From: from, To: to}, nil
}

// describe says in words what f selects.
func (f bulkForm) describe() string {
	var b strings.Builder
	if f.Kind == "unreadable" {
		b.WriteString("unreadable records")
	} else {
		b.WriteString("every entry")
	}
	b.WriteString(" in the queue " + f.Queue)
	if f.From != "" {
		b.WriteString(" from " + f.From)
	}
	if f.To != "" {
		b.WriteString(" to " + f.To)
	}
	return b.String()
}

// match finds the entries f matches now, reading the queue a page at a
// time; more than bulkMax is an error that says so.
func (s *Server) match(ctx context.Context, w who, f bulkForm) (*bulkMatch, error) {
	jf, err := f.filter(s.o.Location)
	if err != nil {
		return nil, err
	}
	m := &bulkMatch{Form: f, Filter: f.describe()}
	jf.Limit = 5_000
	err = s.o.Queries.EachPage(ctx, jf, func(page []gateway.Entry) error {
		for _, e := range page {
			if f.Kind == "unreadable" && e.Call != nil {
				continue
			}
			if m.Count++; m.Count > bulkMax {
				return errBulkTooMany
			}
			m.IDs = append(m.IDs, e.ID)
			if len(m.Sample) < 10 {
				m.Sample = append(m.Sample, exceptionRow{callRow: s.row(w, e)})
			}
		}
		return nil
	})
	if errors.Is(err, errBulkTooMany) {
		return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("the filter matches more than %d entries, more than one action may move: narrow the time range and repeat", bulkMax))
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// bulkApply moves the entries m matched as f says, bulkBatch in each
// transaction; a batch that fails as a whole (an entry moved meanwhile) is
// moved one by one, and the entries that cannot move are reported. One
// audit record names the bulk action, even when it stops half-way.
func (s *Server) bulkApply(ctx context.Context, w who, to gateway.State, m *bulkMatch) (moved int, failed []string, err error) {
	f := m.Form
	ch := gateway.Change{To: to, Actor: w.user, Reason: f.Reason}
	if to == gateway.StateTransferred {
		ch.Room = f.Room
	}
	known := func(err error) bool {
		return gateway.IsKind(err, gateway.KindInvalid) || gateway.IsKind(err, gateway.KindNotFound) || gateway.IsKind(err, gateway.KindTransient)
	}
	nfailed := 0
	for i := 0; i < len(m.IDs) && err == nil; i += bulkBatch {
		if err = ctx.Err(); err != nil {
			break
		}
		ids := m.IDs[i:min(i+bulkBatch, len(m.IDs))]
		moves := make([]gateway.Move, len(ids))
		for k, id := range ids {
			moves[k] = gateway.Move{ID: id, Change: ch}
		}
		var merr error
		if _, merr = s.o.Journal.MoveAll(ctx, moves); merr == nil {
			moved += len(ids)
			continue
		}
		if !known(merr) {
			err = merr
			break
		}
		for _, id := range ids {
			if _, merr := s.o.Journal.Move(ctx, id, ch); merr != nil {
				if !known(merr) || ctx.Err() != nil {
					err = merr
					break
				}
				if nfailed++; len(failed) < 100 {
					failed = append(failed, fmt.Sprintf("call %d: %s", id, gateway.Message(merr)))
				}
				continue
			}
			moved++
		}
	}
	if nfailed > len(failed) {
		failed = append(failed, fmt.Sprintf("and %d more calls could not be moved", nfailed-len(failed)))
	}
	detail := map[string]string{"queue": f.Queue, "kind": f.Kind, "from": f.From, "to": f.To, "action": f.Action,
		"matched": strconv.Itoa(m.Count), "moved": strconv.Itoa(moved), "failed": strconv.Itoa(nfailed)}
	if f.Room != "" {
		detail["room"] = f.Room
	}
	if err != nil {
		detail["stopped"] = gateway.Message(err)
	}
	if aerr := s.o.Journal.Audit(context.WithoutCancel(ctx), gateway.AuditRecord{Actor: w.user, Action: "bulk-" + f.Action, Reason: f.Reason, Detail: detail}); aerr != nil && err == nil {
		err = aerr
	}
	s.o.Logger.Info().Str("user", w.user).Str("action", f.Action).Str("queue", f.Queue).Int("matched", m.Count).Int("moved", moved).
		Int("failed", nfailed).Msg("console: entries resolved by filter")
	if moved > 0 && (to == gateway.StateReposted || to == gateway.StateTransferred) {
		s.o.Engine.Wake()
	}
	if err != nil {
		return moved, failed, fmt.Errorf("the action by filter stopped after moving %d of %d entries: %w", moved, m.Count, err)
	}
	return moved, failed, nil
}

// bulk is the exceptions page's action by filter: the first post counts
// and asks for confirmation, the second (with expect) applies.
func (s *Server) bulk(c echo.Context) error {
	var f bulkForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read: the confirmed count must be a whole number")
	}
	to, err := checkAction(&f.Action, &f.Reason, &f.Room)
	if err != nil {
		return err
	}
	w := current(c)
	ctx := c.Request().Context()
	m, err := s.match(ctx, w, f)
	if err != nil {
		return err
	}
	v := s.view(c, "Exceptions and in doubt")
	v.Nav = "exceptions"
	code := http.StatusOK
	var moved int
	var failed []string
	switch {
	case m.Count == 0:
		v.Message, code = "the filter matches no entry: nothing to do", http.StatusConflict
	case f.Expect == nil:
	case *f.Expect != m.Count:
		v.Message, code = fmt.Sprintf("the filter now matches %d entries, not the %d you confirmed: nothing was changed; confirm again", m.Count, *f.Expect), http.StatusConflict
	default:
		moved, failed, err = s.bulkApply(ctx, w, to, m)
		if err != nil {
			return err
		}
		m = nil
		v.Notice = fmt.Sprintf("%s: %d calls (%s), by filter: %s", f.Action, moved, to, f.describe())
		if moved == 0 {
			v.Message, code = "nothing was changed", http.StatusConflict
		}
	}
	p, err := s.exceptionsData(c)
	if err != nil {
		return err
	}
	p.Bulk, p.Failed = f, failed
	p.Bulk.Expect = nil
	if m != nil && m.Count > 0 {
		p.Confirm = m
	}
	v.Data = p
	return c.Render(code, "exceptions", v)
}

// apiBulk is the action by filter of the API: without expect it answers
// the count; with expect equal to the count it applies the action.
func (s *Server) apiBulk(c echo.Context) error {
	var f bulkForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, `the body must be JSON like {"state":"exception","kind":"unreadable","from":"2026-11-27","to":"2026-11-27","action":"void","reason":"…","expect":12}`)
	}
	to, err := checkAction(&f.Action, &f.Reason, &f.Room)
	if err != nil {
		return err
	}
	w := current(c)
	m, err := s.match(c.Request().Context(), w, f)
	if err != nil {
		return err
	}
	switch {
	case f.Expect == nil:
		return c.JSON(http.StatusOK, map[string]any{"matched": m.Count, "filter": m.Filter})
	case m.Count == 0:
		return c.JSON(http.StatusConflict, map[string]any{"matched": 0, "filter": m.Filter, "error": "the filter matches no entry: nothing was changed"})
	case *f.Expect != m.Count:
		return c.JSON(http.StatusConflict, map[string]any{"matched": m.Count, "filter": m.Filter,
			"error": fmt.Sprintf("the filter now matches %d entries, not the %d expected: nothing was changed", m.Count, *f.Expect)})
	}
	moved, failed, err := s.bulkApply(c.Request().Context(), w, to, m)
	if err != nil {
		return err
	}
	if failed == nil {
		failed = []string{}
	}
	code := http.StatusOK
	if moved == 0 {
		code = http.StatusConflict
	}
	return c.JSON(code, map[string]any{"matched": m.Count, "moved": moved, "failed": failed, "filter": m.Filter})
}
