package gateway

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// postLoop sends queued postings one at a time, oldest call first, while the
// link is ready and the engine knows who stays where; and the postings a
// record's processing journaled as sent and handed over (sendNow). Before it
// returns it posts a posting handed over and not yet written, so that none
// is left sent for nothing.
func (e *Engine) postLoop(ctx, postCtx context.Context) {
	tick := e.clock().NewTicker(e.Poll)
	defer tick.Stop()
	var handed *Entry
	// idle waits for a reason to look at the queue again; empty says the
	// queue was found empty, so a record's processing may hand over its
	// posting meanwhile.
	idle := func(empty bool) bool {
		e.setPostIdle(empty)
		defer e.setPostIdle(false)
		select {
		case <-ctx.Done():
			return false
		case <-e.wake:
		case <-tick.C():
		case en := <-e.handoff:
			handed = &en
		}
		return true
	}
	defer func() {
		e.setPostIdle(false)
		select {
		case en := <-e.handoff:
			e.postSent(ctx, postCtx, en)
		default:
		}
	}()
	for {
		if handed == nil {
			select {
			case en := <-e.handoff:
				handed = &en
			default:
			}
		}
		if handed != nil {
			en := *handed
			handed = nil
			naEnd := e.beginTry()
			if !e.pause(ctx, en, naEnd, e.postSent(ctx, postCtx, en)) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		// A posting whose answer was lost holds the queue until it is
		// resolved (docs/posting-safety.md "Order").
		if en, ok := e.nextResolving(ctx); ok {
			naEnd := e.beginTry()
			if !e.pause(ctx, en, naEnd, e.resolveEntry(ctx, postCtx, en)) {
				return
			}
			continue
		}
		if !e.guestData.Load() {
			// Until the PMS said who stays where, rooms are not judged
			// vacant and nothing is posted: the postings wait.
			if !idle(false) {
				return
			}
			continue
		}
		if err := e.PMS.WaitReady(ctx); err != nil {
			return
		}
		es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
		if err != nil {
			if ctx.Err() != nil { // stopping: the read was cut, nothing is wrong
				return
			}
			e.Logger.Error().Err(err).Msg("reading the queue")
			if !idle(false) {
				return
			}
			continue
		}
		if len(es) == 0 {
			if !idle(true) {
				return
			}
			continue
		}
		naEnd := e.beginTry()
		if !e.pause(ctx, es[0], naEnd, e.post(ctx, postCtx, es[0])) {
			return
		}
	}
}

func (e *Engine) setPostIdle(idle bool) {
	e.postMu.Lock()
	e.postIdle = idle
	e.postMu.Unlock()
}

// post sends one queued entry and journals the outcome (see postSent).
func (e *Engine) post(ctx, postCtx context.Context, en Entry) PostOutcome {
	jctx := context.WithoutCancel(ctx)
	toSent, why := e.sendable(jctx, en)
	if why != "" {
		e.move(jctx, en.ID, Change{To: StateException, Reason: why})
		return PostRefused
	}
	sent, err := e.Journal.Move(jctx, en.ID, toSent)
	if err != nil {
		e.Logger.Error().Err(err).Uint64("entry", uint64(en.ID)).Str("to", string(toSent.To)).Msg("journal move failed: the posting waits in the queue")
		if !IsKind(err, KindInvalid) && !IsKind(err, KindNotFound) && !IsTransient(err) {
			e.journalWrite("send", err) // a full or damaged disk: nothing is sent
		}
		return PostTransient
	}
	e.journalWrite("send", nil)
	return e.postSent(ctx, postCtx, sent)
}

// sendable returns the move of a queued entry to sent or, when it cannot be
// posted, why (it then belongs in the exceptions).
func (e *Engine) sendable(ctx context.Context, en Entry) (Change, string) {
	if en.Call == nil || en.Charge == nil {
		return Change{}, "queued entry without its call or charge"
	}
	occ, err := e.occupancy(ctx, en.Room)
	if err != nil {
		// Unread guests do not hold the posting: it goes to the room's folio.
		e.Logger.Warn().Err(err).Str("room", en.Room).Msg("reading the guests of a room")
	}
	if occ.vacant {
		return Change{}, vacantReason(en.Room)
	}
	// A posting queued before the engine knew who stays where is charged
	// to the guest in the room now: the journal names that folio.
	toSent := Change{To: StateSent}
	if en.Reservation == "" {
		toSent.Reservation = occ.reservation
	}
	return toSent, ""
}

// postSent writes an entry journaled as sent to the PMS and journals the
// outcome. The outcome is journaled even when ctx ended meanwhile: a posting
// the PMS booked during shutdown is recorded as posted, not left sent.
//
// During a drain the PMS's OK and the sending of the next queued posting
// share one commit (posted, then sent: two events), and postSent goes on
// with that posting; it returns the last outcome. It stops going on when ctx
// ends, when the link is not ready, or when the next posting cannot be sent
// as it is (the poster's loop deals with it).
func (e *Engine) postSent(ctx, postCtx context.Context, sent Entry) PostOutcome {
	jctx := context.WithoutCancel(ctx)
	for {
		req := e.request(sent)
		res, err := e.PMS.Post(postCtx, req)
		e.notePost(sent, req, res, err)
		log := e.Logger.With().Uint64("entry", uint64(sent.ID)).Uint32("posting", req.Number).Str("room", req.Room).Int64("amount_minor", req.AmountMinor).Logger()
		answer := &Answer{Code: res.Answer, Text: res.Text}
		if res.Answer == "" && res.Text == "" {
			answer = nil
		}
		switch res.Outcome {
		case PostPosted:
			posted := Change{To: StatePosted, Answer: answer}
			next, chained := e.nextSent(ctx)
			if chained {
				nextSent, err := e.Journal.MoveAll(jctx, []Move{{ID: sent.ID, Change: posted}, next})
				if err == nil {
					e.posted(log, req, res, sent)
					sent = nextSent
					continue
				}
				log.Warn().Err(err).Uint64("next", uint64(next.ID)).Msg("journaling the answer with the next posting's sending failed: journaling the answer alone")
			}
			e.journalAnswer(postCtx, log, req, sent.ID, posted)
			e.posted(log, req, res, sent)
		case PostRefused:
			e.journalAnswer(postCtx, log, req, sent.ID, Change{To: StateRefused, Answer: answer, Reason: Message(err)})
			log.Warn().Str("answer", res.Answer).Str("text", res.Text).Msg("the PMS refused the posting: it waits for the night auditor")
		case PostTransient:
			e.journalAnswer(postCtx, log, req, sent.ID, Change{To: StateQueued, Answer: answer, Reason: Message(err)})
			log.Info().Str("answer", res.Answer).Msg("the PMS cannot take the posting now: it will be sent again")
		case PostInDoubt:
			if e.capability != CapabilityBlind {
				// The PMS can prove what became of it: resolving, each
				// step an event (resolve.go).
				log.Warn().Err(err).Msg("the PMS's answer was lost: resolving the posting with the PMS")
				if !e.journalAnswer(postCtx, log, req, sent.ID, Change{To: StateResolving, Reason: e.lostReason(errorText(err), req.Reference)}) {
					break
				}
				if full, ferr := e.Queries.Entry(jctx, sent.ID); ferr == nil {
					req.FirstSent = firstSent(full)
				} else {
					req.FirstSent = sent.Sent
				}
				return e.resolve(ctx, postCtx, sent, req, true)
			}
			e.journalAnswer(postCtx, log, req, sent.ID, Change{To: StateInDoubt, Reason: errorText(err)})
			log.Error().Err(err).Msg("posting in doubt: the night auditor must check the folio")
		case PostVacant:
			e.journalAnswer(postCtx, log, req, sent.ID, e.vacantChange(req, answer, err))
			log.Warn().Msg("the PMS has no guest in the room: the posting waits for the night auditor")
		default: // PostInvalid, or an outcome this engine does not know
			// Not sent and never sendable as it is (a class missing from a
			// cloud PMS's map, a number FIAS cannot carry): an exception
			// naming what to fix, as PostInvalid's contract says.
			e.journalAnswer(postCtx, log, req, sent.ID, Change{To: StateException, Reason: "cannot be sent as a posting: " + errorText(err)})
			log.Error().Err(err).Msg("the posting cannot be sent")
			res.Outcome = PostInvalid
		}
		if res.Outcome != PostPosted {
			e.count(func(s *Status) { s.Postings[res.Outcome]++ })
		}
		return res.Outcome
	}
}

// journalAnswer journals the move that records the PMS's answer to a
// posting (or its absence), trying again while the journal cannot be
// written: the answer is kept in memory, the journal-write alarm stays up,
// and the poster holds further postings (FIAS is stop-and-wait, and an
// answer not journaled would leave the posting sent, in doubt after a
// restart). It gives up only for a move the journal refuses as such, or
// when postCtx ends (the engine stopping past its grace): the answer is
// then logged for the night auditor. It reports whether the move landed.
func (e *Engine) journalAnswer(postCtx context.Context, log zerolog.Logger, req PostRequest, id EntryID, c Change) bool {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := e.Journal.Move(context.WithoutCancel(postCtx), id, c)
		if err == nil {
			if attempt > 1 {
				e.journalWrite("answer", nil)
				log.Info().Int("attempts", attempt).Str("to", string(c.To)).Msg("the PMS's answer is journaled: postings go on")
			}
			return true
		}
		if IsKind(err, KindInvalid) || IsKind(err, KindNotFound) {
			log.Error().Err(err).Str("to", string(c.To)).Msg("journal move failed")
			return false
		}
		e.journalWrite("answer", err)
		if attempt == 1 {
			log.Error().Err(err).Str("to", string(c.To)).
				Msgf("the PMS's answer to posting %d cannot be journaled: it is kept and written again until the journal takes it; postings wait meanwhile (free the journal's disk)", req.Number)
		}
		select {
		case <-postCtx.Done():
			log.Error().Err(err).Str("to", string(c.To)).
				Msgf("the gateway stopped before the PMS's answer to posting %d for room %s could be journaled: it should be %s; after the restart it is in doubt, and the night auditor resolves it so", req.Number, req.Room, c.To)
			return false
		case <-e.clock().After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// posted logs and counts a posting the PMS booked.
func (e *Engine) posted(log zerolog.Logger, req PostRequest, res PostResult, sent Entry) {
	log.Info().Str("dialed", MaskNumber(req.Dialed)).Int("duration_s", req.DurationS).
		Msgf("posted %s to room %s (posting %d)", e.amount(req.AmountMinor, req.Currency), req.Room, req.Number)
	if e.Latency != nil && !sent.Raw.Received.IsZero() {
		e.Latency(res.At.Sub(sent.Raw.Received))
	}
	e.count(func(s *Status) { s.Postings[PostPosted]++ })
}

// nextSent returns the move to sent of the oldest queued posting, when the
// poster may go on to it at once: the engine runs, the link is ready, and
// the posting can be sent as it is.
func (e *Engine) nextSent(ctx context.Context) (Move, bool) {
	if ctx.Err() != nil || !e.guestData.Load() || !e.PMS.Status().Ready() {
		return Move{}, false
	}
	es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
	if err != nil || len(es) == 0 {
		return Move{}, false
	}
	c, why := e.sendable(ctx, es[0])
	if why != "" {
		return Move{}, false
	}
	return Move{ID: es[0].ID, Change: c}, true
}
