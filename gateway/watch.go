package gateway

import (
	"context"
	"fmt"
	"time"
)

// guestLoop journals the PMS's guest events until the link closes.
func (e *Engine) guestLoop() {
	ctx := context.Background()
	for ev := range e.PMS.GuestEvents() {
		if _, err := e.Journal.ApplyGuest(ctx, ev); err != nil {
			e.Logger.Error().Err(err).Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Msg("a guest event could not be journaled")
			continue
		}
		switch ev.Kind {
		case GuestCheckIn, GuestChange, GuestCheckOut:
			// One line per guest movement (no names: room and reservation),
			// so that a posting's room can be traced to what the PMS said.
			if !ev.Resync {
				e.Logger.Info().Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Str("old_room", ev.OldRoom).
					Str("reservation", ev.Guest.Reservation).Msg("guest event journaled")
			}
		case ResyncStart:
			e.resyncing.Store(true)
		case ResyncEnd:
			e.resyncing.Store(false)
			e.guestData.Store(true)
			e.count(func(s *Status) { s.LastResync = e.now() })
			if ev.Partial {
				e.Logger.Warn().Msg("the PMS's resync ended incomplete (no end mark): guests it did not mention stay checked in")
			} else {
				e.Logger.Info().Msg("guest data resynchronized with the PMS")
			}
			e.Wake()
		case NightAuditEnd:
			e.endNightAudit()
			e.Wake()
		}
	}
}

// watch follows the link's state for the engine: since when it is down,
// and when the engine last asked the PMS for a resync.
type watch struct {
	e           *Engine
	downSince   time.Time
	resyncAsked time.Time
}

// startWatch runs the journal's tidy and judges the link's state once, before
// the engine's loops start (so that a record read was read with the link
// judged), and returns the watch for watchLoop.
func (e *Engine) startWatch(ctx context.Context) *watch {
	e.tidy(ctx)
	w := &watch{e: e}
	w.evaluate(ctx, e.PMS.Status())
	return w
}

// evaluate judges the link's state: a resync to ask for, the down alarm.
func (w *watch) evaluate(ctx context.Context, st LinkStatus) {
	e := w.e
	if !e.guestData.Load() && !w.resyncAsked.IsZero() && e.now().Sub(w.resyncAsked) > 10*time.Minute {
		// A PMS that never answers a resync must not hold the postings
		// for ever: from now on rooms are judged by the guest events
		// received so far.
		e.guestData.Store(true)
		e.resyncing.Store(false)
		e.Logger.Warn().Msg("the PMS did not answer the resync within 10 minutes: rooms are judged by the guest events received since")
	}
	if st.State == LinkAlive {
		w.downSince = time.Time{}
		e.setAlarm(AlarmPMSDown, false, "")
		if !e.guestData.Load() && !e.resyncing.Load() && e.now().Sub(w.resyncAsked) > 5*time.Minute {
			if err := e.PMS.Resync(ctx); err != nil {
				e.Logger.Warn().Err(err).Msg("cannot ask the PMS for its guest data yet")
			} else {
				w.resyncAsked = e.now()
				e.resyncing.Store(true)
				e.Logger.Info().Msg("no guest data in the journal: asked the PMS for a resync")
			}
		}
	} else if w.downSince.IsZero() {
		w.downSince = e.now()
	}
	if !w.downSince.IsZero() && e.now().Sub(w.downSince) > e.Alarms.PMSDown {
		e.setAlarm(AlarmPMSDown, true, fmt.Sprintf("the PMS link has been %s since %s: postings wait", st.State, w.downSince.Format(time.Kitchen)))
	}
	e.Wake()
}

// watchLoop follows the link's state (asking for a resync when the engine
// has no guest data), keeps the alarms and runs the journal's daily tidy.
func (e *Engine) watchLoop(ctx context.Context, w *watch) {
	check := e.clock().NewTicker(10 * time.Second)
	defer check.Stop()
	tidy := e.clock().NewTicker(24 * time.Hour)
	defer tidy.Stop()
	changes := e.PMS.StatusChanges()
	for {
		select {
		case <-ctx.Done():
			return
		case st, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			w.evaluate(ctx, st)
		case <-check.C():
			w.evaluate(ctx, e.PMS.Status())
			e.checkQueues(ctx)
			e.tickRules(ctx) // fraud alarms that went quiet, room credit (rules_alarms.go)
		case <-tidy.C():
			e.tidy(ctx)
		}
	}
}

// checkQueues raises the queue and in-doubt alarms.
func (e *Engine) checkQueues(ctx context.Context) {
	counts, err := e.Queries.Counts(ctx)
	if err != nil {
		return
	}
	n := counts.States[StateInDoubt]
	e.setAlarm(AlarmInDoubt, n > 0, fmt.Sprintf("%d postings in doubt: check them on the folios and resolve them in the console", n))
	es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
	if err != nil {
		return
	}
	old := len(es) > 0 && e.now().Sub(es[0].Updated) > e.Alarms.QueueOlderThan
	text := ""
	if old {
		text = fmt.Sprintf("%d postings queued, the oldest since %s", counts.States[StateQueued], es[0].Updated.Local().Format("15:04"))
	}
	e.setAlarm(AlarmQueueOld, old, text)
}

func (e *Engine) tidy(ctx context.Context) {
	t, err := e.Journal.Tidy(ctx)
	if err != nil {
		e.Logger.Warn().Err(err).Msg("journal tidy failed")
		return
	}
	if t.NamesErased+t.DigestsExpired+t.Pruned.Entries > 0 {
		e.Logger.Info().Int("names_erased", t.NamesErased).Int("digests_expired", t.DigestsExpired).Int("entries_pruned", t.Pruned.Entries).Msg("journal tidied")
	}
}
