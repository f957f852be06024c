package console

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

// snapshot is the dashboard's facts: rendered into the page, and sent as
// JSON on the live stream.
type snapshot struct {
	PBXLastRecord string `json:"pbx_last_record"`
	RecordsRead   uint64 `json:"records_read"`
	RecordsToday  int    `json:"records_today"`
	Replays       uint64 `json:"replays"`
	ParseErrors   uint64 `json:"parse_errors"`
	PMSState      string `json:"pms_state"`
	PMSSince      string `json:"pms_since"`
	PMSWaiting    string `json:"pms_waiting"`
	LastAnswer    string `json:"last_answer"`
	// PostWait is the poster's wait after the PMS did not take a posting
	// now, in words ("—" when it does not wait); Retry its facts, absent
	// then.
	PostWait     string     `json:"post_wait"`
	Retry        *retryView `json:"retry,omitempty"`
	GuestData    string     `json:"guest_data"`
	Queued       int64      `json:"queued"`
	OldestQueued string     `json:"oldest_queued"`
	InDoubt      int64      `json:"in_doubt"`
	// Resolving counts the postings whose answer was lost and that the
	// gateway is proving with the PMS (lookup, resend with the same key).
	Resolving  int64        `json:"resolving"`
	NeedPerson int64        `json:"need_person"`
	Alarms     []alarmView  `json:"alarms"`
	Today      []classTotal `json:"today"`
	Recent     []recentCall `json:"recent"`
	Updated    string       `json:"updated"`
	// Deliveries are the scheduled e-mailed reports (auditors and admins
	// only; not refreshed by the live stream).
	Deliveries []deliveryView `json:"-"`
	// Central is the shipping of the journal to the central, absent
	// without one.
	Central *centralView `json:"central,omitempty"`
}

// centralView is the shipper's state (ship.ShipStatus) for the dashboard
// and /api/v1/status: times in site time, UTC beside.
type centralView struct {
	Epoch          string  `json:"epoch"`
	Cursor         uint64  `json:"cursor"`
	LastEvent      uint64  `json:"last_event"`
	LagEvents      uint64  `json:"lag_events"`
	LagSeconds     float64 `json:"lag_seconds"`
	LastSuccess    string  `json:"last_success"`
	LastSuccessUTC string  `json:"last_success_utc,omitempty"`
	LastError      string  `json:"last_error,omitempty"`
	LastErrorAt    string  `json:"last_error_at,omitempty"`
	Stopped        bool    `json:"stopped"`
	Batches        uint64  `json:"batches"`
	Events         uint64  `json:"events"`
	Running        bool    `json:"running"`
}

func (s *Server) centralView() *centralView {
	if s.o.Shipping == nil {
		return nil
	}
	st, ok := s.o.Shipping()
	if !ok {
		return nil
	}
	v := &centralView{Epoch: st.Epoch, Cursor: st.Cursor, LastEvent: st.LastSeq, LagEvents: st.LagEvents(),
		LagSeconds: st.Lag(s.o.Now()).Round(time.Second).Seconds(), LastSuccess: s.wall(st.LastSuccess),
		LastError: st.LastError, Stopped: st.Stopped, Batches: st.Batches, Events: st.Events, Running: st.Running}
	if !st.LastSuccess.IsZero() {
		v.LastSuccessUTC = st.LastSuccess.UTC().Format(time.RFC3339)
	}
	if !st.LastErrorAt.IsZero() {
		v.LastErrorAt = s.wall(st.LastErrorAt)
	}
	return v
}

type deliveryView struct {
	Report, Period, Schedule, To string
	Next, LastRun, LastOK        string
	LastError                    string
	Failures                     int
}

// retryView is the poster's wait after a transient answer
// (gateway.PostWait) for /api/v1/status.
type retryView struct {
	Cause   string `json:"cause"`   // busy, night-audit, not-sent; lookup, resend (a lost answer resolved)
	Posting uint32 `json:"posting"` // 0 when it has no number yet
	Room    string `json:"room"`
	Answer  string `json:"answer"` // the PMS's answer code, "" if none
	Text    string `json:"text"`   // the PMS's text, or why it was not sent
	WaitMS  int64  `json:"wait_ms"`
	NextTry string `json:"next_try"` // site time; sooner for a night audit whose end the PMS signals
}

type alarmView struct {
	Kind string `json:"kind"`
	// Subject is what a fraud, room-credit or notify-failed alarm is about
	// (201/night, a room, a target); "" for the engine's own.
	Subject string `json:"subject,omitempty"`
	Since   string `json:"since"`
	Text    string `json:"text"`
}

type classTotal struct {
	Class   string `json:"class"`
	Calls   int    `json:"calls"`
	Revenue string `json:"revenue"`
}

type recentCall struct {
	ID     uint64 `json:"id"`
	Time   string `json:"time"`
	Ext    string `json:"ext"`
	Room   string `json:"room"`
	Dialed string `json:"dialed"`
	Total  string `json:"total"`
	State  string `json:"state"`
}

// snapshot reads the engine's status and the journal's counts.
func (s *Server) snapshot(ctx context.Context, w who) (snapshot, error) {
	st := s.o.Engine.Status()
	sn := snapshot{
		PBXLastRecord: s.wall(st.LastRecord),
		RecordsRead:   st.RecordsRead,
		Replays:       st.Replays,
		ParseErrors:   st.ParseErrors,
		PMSState:      string(st.PMS.State),
		PMSSince:      s.wall(st.PMS.Since),
		PMSWaiting:    "no",
		LastAnswer:    "—",
		PostWait:      "—",
		GuestData:     "not yet",
		Alarms:        []alarmView{},
		Today:         []classTotal{},
		Recent:        []recentCall{},
	}
	if st.GuestData {
		sn.GuestData = "known"
	}
	switch {
	case st.PMS.Resync:
		sn.PMSWaiting = "resync running"
	case st.PMS.NightAudit:
		sn.PMSWaiting = "night audit running"
	}
	if w := st.Wait; w != nil {
		sn.PostWait = w.Describe(s.o.Now(), s.o.Location)
		text := w.Text
		switch w.Cause {
		case gateway.CauseNotSent:
			text = w.Reason
		case gateway.CauseLookup, gateway.CauseResend: // a lost answer resolved
			text = "reference " + w.Reason
		}
		sn.Retry = &retryView{Cause: string(w.Cause), Posting: w.Posting, Room: w.Room, Answer: w.Answer, Text: text,
			WaitMS: w.Wait.Milliseconds(), NextTry: s.wall(w.Until)}
	}
	for _, a := range st.Alarms {
		sn.Alarms = append(sn.Alarms, alarmView{string(a.Kind), a.Subject, s.wall(a.Since), a.Text})
	}
	sort.Slice(sn.Alarms, func(i, j int) bool {
		if sn.Alarms[i].Kind != sn.Alarms[j].Kind {
			return sn.Alarms[i].Kind < sn.Alarms[j].Kind
		}
		return sn.Alarms[i].Subject < sn.Alarms[j].Subject
	})
	counts, err := s.o.Queries.Counts(ctx)
	if err != nil {
		return sn, err
	}
	sn.Queued, sn.InDoubt = counts.States[gateway.StateQueued], counts.States[gateway.StateInDoubt]
	sn.Resolving = counts.States[gateway.StateResolving]
	sn.NeedPerson = counts.States[gateway.StateException] + counts.States[gateway.StateRefused] + sn.InDoubt
	sn.OldestQueued = "—"
	if q, err := s.o.Queries.Entries(ctx, gateway.Filter{States: []gateway.State{gateway.StateQueued}, Limit: 1}); err != nil {
		return sn, err
	} else if len(q) > 0 {
		sn.OldestQueued = s.o.Now().Sub(q[0].Updated).Round(time.Second).String()
	}

	// Today's chargeable calls (voided ones not counted) and revenue
	// (posted by the PMS or by hand), by class and currency: the journal's
	// running totals, never the day's entries (docs/journal.md
	// "Projections"), so a call costs the same on a busy day. Every read
	// below is bounded: totals of 96 quarter hours, the counts, and three
	// listings of at most 10 entries.
	now := s.o.Now().In(s.o.Location)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.o.Location)
	today, err := s.o.Queries.Totals(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		return sn, err
	}
	sn.RecordsToday = int(today.Entries)
	if last, err := s.o.Queries.Entries(ctx, gateway.Filter{States: []gateway.State{gateway.StatePosted}, Newest: true, Limit: 1}); err != nil {
		return sn, err
	} else if len(last) > 0 && last[0].Answer != nil {
		sn.LastAnswer = s.wall(last[0].Answer.Time) + " (" + last[0].Answer.Code + ")"
	}
	for _, t := range today.Classes { // ordered by class, then currency
		sn.Today = append(sn.Today, classTotal{t.Class, int(t.Calls), s.money(t.RevenueMinor, t.Currency)})
	}

	recent, err := s.o.Queries.Entries(ctx, gateway.Filter{Newest: true, Limit: 10})
	if err != nil {
		return sn, err
	}
	for _, e := range recent {
		r := s.row(w, e)
		sn.Recent = append(sn.Recent, recentCall{uint64(r.ID), r.Local, r.Extension, r.Room, r.Dialed, r.Total, string(r.State)})
	}
	if s.o.Deliveries != nil && w.can(roleAuditor) {
		for _, d := range s.o.Deliveries() {
			sn.Deliveries = append(sn.Deliveries, deliveryView{Report: d.Report, Period: d.Period, Schedule: d.Schedule,
				To: strings.Join(d.To, ", "), Next: s.wall(d.Next), LastRun: s.wall(d.LastRun), LastOK: s.wall(d.LastOK),
				LastError: d.LastError, Failures: d.Failures})
		}
	}
	sn.Central = s.centralView()
	sn.Updated = s.wall(s.o.Now())
	return sn, nil
}

func (s *Server) dashboard(c echo.Context) error {
	sn, err := s.snapshot(c.Request().Context(), current(c))
	if err != nil {
		return err
	}
	v := s.view(c, "Dashboard")
	v.Nav, v.Data = "dashboard", sn
	return c.Render(http.StatusOK, "dashboard", v)
}
