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
			e.Logger.Info().Msg("guest data resynchronized with the PMS")
			e.Wake()
		case NightAuditEnd:
			e.Wake()
		}
	}
}

// watchLoop follows the link's state (asking for a resync when the engine
// has no guest data), keeps the alarms and runs the journal's daily tidy.
func (e *Engine) watchLoop(ctx context.Context) {
	check := e.clock().NewTicker(10 * time.Second)
	defer check.Stop()
	tidy := e.clock().NewTicker(24 * time.Hour)
	defer tidy.Stop()
	e.tidy(ctx)
	var downSince time.Time
	resyncAsked := time.Time{}
	changes := e.PMS.StatusChanges()
	evaluate := func(st LinkStatus) {
		if !e.guestData.Load() && !resyncAsked.IsZero() && e.now().Sub(resyncAsked) > 10*time.Minute {
			// A PMS that never answers a resync must not hold the postings
			// for ever: from now on rooms are judged by the guest events
			// received so far.
			e.guestData.Store(true)
			e.resyncing.Store(false)
			e.Logger.Warn().Msg("the PMS did not answer the resync within 10 minutes: rooms are judged by the guest events received since")
		}
		if st.State == LinkAlive {
			downSince = time.Time{}
			e.setAlarm(AlarmPMSDown, false, "")
			if !e.guestData.Load() && !e.resyncing.Load() && e.now().Sub(resyncAsked) > 5*time.Minute {
				if err := e.PMS.Resync(ctx); err != nil {
					e.Logger.Warn().Err(err).Msg("cannot ask the PMS for its guest data yet")
				} else {
					resyncAsked = e.now()
					e.resyncing.Store(true)
					e.Logger.Info().Msg("no guest data in the journal: asked the PMS for a resync")
				}
			}
		} else if downSince.IsZero() {
			downSince = e.now()
		}
		if !downSince.IsZero() && e.now().Sub(downSince) > e.Alarms.PMSDown {
			e.setAlarm(AlarmPMSDown, true, fmt.Sprintf("the PMS link has been %s since %s: postings wait", st.State, downSince.Format(time.Kitchen)))
		}
		e.Wake()
	}
	evaluate(e.PMS.Status())
	for {
		select {
		case <-ctx.Done():
			return
		case st, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			evaluate(st)
		case <-check.C():
			evaluate(e.PMS.Status())
			e.checkQueues(ctx)
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
