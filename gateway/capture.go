package gateway

import (
	"context"
	"errors"
	"io"
	"time"
)

// captureLoop reads the PBX until ctx ends, then journals what the source
// had already read.
func (e *Engine) captureLoop(ctx context.Context) {
	for {
		rec, err := e.Source.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, io.EOF) {
				e.Logger.Info().Msg("the call source has ended")
				<-ctx.Done()
				break
			}
			e.Logger.Error().Err(err).Msg("reading the PBX")
			select {
			case <-ctx.Done():
			case <-e.clock().After(time.Second):
			}
			continue
		}
		e.handleAll(ctx, e.burst(rec))
	}
	// Nothing read is lost: records the source framed before it closed are
	// journaled too.
	e.Source.Close()
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		rec, err := e.Source.Read(drain)
		if err != nil {
			return
		}
		e.handleAll(drain, e.burst(rec))
	}
}

// burst returns rec and the records the source has already framed behind
// it, up to BurstRecords records or BurstBytes bytes: they share a commit.
func (e *Engine) burst(rec RawRecord) []RawRecord {
	recs := []RawRecord{rec}
	ws, ok := e.Source.(WaitingSource)
	if !ok {
		return recs
	}
	for size := len(rec.Data); len(recs) < BurstRecords && size < BurstBytes; {
		r, ok := ws.TryRead()
		if !ok {
			break
		}
		recs = append(recs, r)
		size += len(r.Data)
	}
	return recs
}

// handle journals one raw record and takes it as far as it goes.
func (e *Engine) handle(ctx context.Context, rec RawRecord) { e.handleAll(ctx, []RawRecord{rec}) }

// prepared is what the engine made of a record in memory, before it is
// journaled: the moves that take it on from captured, and what to count
// and log once they are committed.
type prepared struct {
	moves    []Change
	queued   bool // the last move queues a posting
	known    bool // the room's occupancy was judged (the PMS's guest data is in)
	notCall  bool
	parseErr error
}

// prepare parses, rates and decides rec in memory (docs/design.md "The
// path of one call"). A parser or tariff that fails, even by panicking,
// makes the record an exception: its bytes are journaled all the same.
// memo holds the rooms' occupancy judged for the records read with rec.
func (e *Engine) prepare(ctx context.Context, rec RawRecord, memo map[string]occupancy) prepared {
	r := Rate(e.Parser, e.Rater, rec)
	switch {
	case r.NotCall:
		return prepared{notCall: true, moves: []Change{{To: StateNotChargeable, Reason: "not a call record (a header, summary or information line)"}}}
	case r.ParseErr != nil:
		return prepared{parseErr: r.ParseErr, moves: []Change{{To: StateException, Reason: "unreadable record: " + r.ParseErr.Error()}}}
	case r.RateErr != nil:
		return prepared{moves: []Change{{To: StateException, Call: &r.Call, Reason: "cannot be rated: " + r.RateErr.Error()}}}
	}
	rated := Change{To: StateRated, Call: &r.Call, Charge: r.Charge}
	d, ok := e.decisionIn(ctx, 0, &r.Call, r.Charge, memo)
	if !ok {
		return prepared{moves: []Change{rated}} // stays rated; the next start goes on with it
	}
	return prepared{moves: []Change{rated, d.Change}, queued: d.To == StateQueued, known: d.occ.known}
}

// handleAll journals records that were read together: each is parsed,
// rated and decided in memory first, then every record's capture and
// decision share one commit (Journal.CaptureAll), with the move to sent of
// a posting the poster can take at once (see sendNow). Shutting down does
// not interrupt it half-way: records that were read are journaled and
// processed with a context that ctx's end does not cancel.
//
// When that commit fails (a failing disk), each record goes the long way:
// its capture alone, retried while the disk fails, then its processing.
func (e *Engine) handleAll(ctx context.Context, recs []RawRecord) {
	jctx := context.WithoutCancel(ctx)
	cs := make([]Capture, len(recs))
	ps := make([]prepared, len(recs))
	queued := -1
	// The records of a burst are decided against the guests as they are
	// when it is read: each room's guests are read once (the commit makes
	// the decisions together anyway).
	var memo map[string]occupancy
	if len(recs) > 1 {
		memo = map[string]occupancy{}
	}
	for i, rec := range recs {
		ps[i] = e.prepare(jctx, rec, memo)
		cs[i] = Capture{Rec: rec, Moves: ps[i].moves}
		if ps[i].queued {
			// Only a lone posting goes straight on to sent: with several,
			// the poster takes them oldest call first.
			if queued == -1 {
				queued = i
			} else {
				queued = -2
			}
		}
	}
	var got []Captured
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var err error
		got, err = e.captureAll(jctx, cs, queued, queued >= 0 && ps[queued].known)
		if err == nil {
			if attempt > 1 {
				e.journalWrite("capture", nil)
			}
			break
		}
		if IsKind(err, KindInvalid) {
			// The moves broke a rule of the journal's (a bug): the records
			// are captured alone and processed the long way.
			e.Logger.Error().Err(err).Int("records", len(recs)).Msg("journaling records with their decisions failed: journaling them one at a time")
			for _, rec := range recs {
				e.handleAlone(ctx, rec)
			}
			return
		}
		e.journalWrite("capture", err)
		select {
		case <-ctx.Done():
			e.Logger.Error().Err(err).Int("records", len(recs)).
				Msg("records could not be journaled and are lost: the journal's disk is failing")
			return
		case <-e.clock().After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
	wake := false
	for i, c := range got {
		rec := recs[i]
		e.mu.Lock()
		if c.Replay {
			e.status.Replays++
		} else {
			e.status.RecordsRead++
			e.status.LastRecord = rec.Received
			switch {
			case ps[i].notCall:
				e.status.NotCalls++
			case ps[i].parseErr != nil:
				e.status.ParseErrors++
			}
		}
		e.mu.Unlock()
		if !c.Replay {
			e.checkCall(c.ID, ps[i].moves) // the fraud rules, in memory (rules_alarms.go)
		}
		switch {
		case c.Replay:
			e.logReplay(rec)
		case ps[i].parseErr != nil:
			e.Logger.Warn().Uint64("entry", uint64(c.ID)).Err(ps[i].parseErr).Msg("a PBX record could not be read: it waits in the exceptions")
		case ps[i].queued && c.Sent == nil:
			wake = true
		}
	}
	if wake {
		e.Wake()
	}
}

// captureAll journals cs in one commit, asking for the move to sent of the
// posting cs[queued] queues (queued ≥ 0, known: its room was judged) when
// the poster can take it at once, and then hands it to the poster.
func (e *Engine) captureAll(ctx context.Context, cs []Capture, queued int, known bool) ([]Captured, error) {
	e.postMu.Lock()
	defer e.postMu.Unlock()
	if queued >= 0 {
		cs[queued].Send = known && e.canSendNow(ctx, known)
	}
	got, err := e.Journal.CaptureAll(ctx, cs)
	if err != nil {
		return nil, err
	}
	for _, c := range got {
		if c.Sent != nil {
			// The invariant holds: sent is on disk before the poster
			// writes the posting.
			e.postIdle = false
			e.handoff <- *c.Sent
		}
	}
	return got, nil
}

// handleAlone journals one raw record by itself, then processes it: the
// way of a record whose combined commit failed.
func (e *Engine) handleAlone(ctx context.Context, rec RawRecord) {
	c, err := e.capture(ctx, rec)
	if err != nil {
		e.Logger.Error().Err(err).Int("bytes", len(rec.Data)).Str("source", rec.Source).
			Msg("a record could not be journaled and is lost: the journal's disk is failing")
		return
	}
	e.mu.Lock()
	if c.Replay {
		e.status.Replays++
	} else {
		e.status.RecordsRead++
		e.status.LastRecord = rec.Received
	}
	e.mu.Unlock()
	if c.Replay {
		e.logReplay(rec)
		return
	}
	e.process(context.WithoutCancel(ctx), c.ID, rec)
}

// capture journals rec, trying again while the disk fails: a record that was
// read is never given up while the engine runs (ctx's end stops the retries,
// not a write under way).
func (e *Engine) capture(ctx context.Context, rec RawRecord) (Captured, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := e.Journal.Capture(context.WithoutCancel(ctx), rec)
		if err == nil {
			if attempt > 1 {
				e.journalWrite("capture", nil)
			}
			return c, nil
		}
		if IsKind(err, KindInvalid) {
			return c, err
		}
		e.journalWrite("capture", err)
		select {
		case <-ctx.Done():
			return c, err
		case <-e.clock().After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// logReplay logs PBX buffer replays once per burst, not once per record.
func (e *Engine) logReplay(rec RawRecord) {
	e.replayBurst++
	if now := e.now(); now.Sub(e.replayLogged) > time.Minute {
		e.Logger.Warn().Int("replayed", e.replayBurst).Str("source", rec.Source).
			Msg("the PBX sent records already journaled (a buffer replay after a reconnect): dropped")
		e.replayLogged, e.replayBurst = now, 0
	}
}
