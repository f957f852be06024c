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
		e.handle(ctx, rec)
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
		e.handle(drain, rec)
	}
}

// handle journals one raw record and takes it as far as it goes. Shutting
// down does not interrupt it half-way: a record that was read is journaled
// and processed with a context that ctx's end does not cancel.
func (e *Engine) handle(ctx context.Context, rec RawRecord) {
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
