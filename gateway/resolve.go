package gateway

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Posting safety by what the PMS can prove (docs/posting-safety.md): a
// posting whose answer was lost stays in doubt for the night auditor on a
// blind link (FIAS); on a lookup or idempotent link the engine moves it to
// resolving and proves what became of it, each step an event of the entry.

// ReferenceMax is the longest posting reference (PostRequest.Reference).
const ReferenceMax = 40

// PostingReference returns the reference of posting number posting of
// entry, in the journal of epoch, at the property named property:
// "<property>-<epoch>-<entry>-<posting>", e.g. "grand-hotel-3f2a9c1d-1042-57",
// at most ReferenceMax characters of [a-z0-9-] (docs/posting-safety.md "The
// reference").
//
// It is stable for the posting (the entry and its number do not change
// while it is tried, looked up or sent again), and never reused: the epoch
// is drawn at random when the journal is created (posting numbers and entry
// ids start over in a new journal) and again when a backup is put back in
// its place (its numbers start over from the backup's), entry ids are never reused in a
// journal, and a posting a person puts back in the queue is sent under a
// new number. The property's name only makes it readable on a folio and
// apart from other properties of one PMS account; it is cut to make room.
func PostingReference(property, epoch string, entry EntryID, posting uint32) string {
	var eb, tb [48]byte
	ep := appendSlug(eb[:0], epoch, false, 8)
	if len(ep) == 0 {
		ep = append(ep, '0')
	}
	tail := append(tb[:0], ep...)
	tail = append(tail, '-')
	tail = strconv.AppendUint(tail, uint64(entry), 10)
	tail = append(tail, '-')
	tail = strconv.AppendUint(tail, uint64(posting), 10)
	room := min(ReferenceMax-len(tail)-1, 16)
	if room < 3 { // no room for a readable name
		return string(tail)
	}
	var out [ReferenceMax + 1]byte
	ref := appendSlug(out[:0], property, true, room)
	for len(ref) > 0 && ref[len(ref)-1] == '-' {
		ref = ref[:len(ref)-1]
	}
	if len(ref) == 0 {
		return string(tail)
	}
	ref = append(ref, '-')
	return string(append(ref, tail...))
}

// appendSlug appends the ASCII letters and digits of s to b, lower case,
// at most most bytes; with dashes, a run of anything else between two of
// them becomes one dash.
func appendSlug(b []byte, s string, dashes bool, most int) []byte {
	start, dash := len(b), false
	for i := 0; i < len(s) && len(b)-start < most; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && len(b) > start {
				b = append(b, '-')
				if len(b)-start >= most {
					return b
				}
			}
			dash = false
			b = append(b, c)
		case dashes:
			dash = true
		}
	}
	return b
}

// PostingKey names a posting: the entry and its posting number.
type PostingKey struct {
	Entry   EntryID
	Posting uint32
}

// PostingEpochs maps the postings numbered under an earlier epoch of a
// replaced journal file to that epoch (JournalInfo.PostingEpochs).
type PostingEpochs map[PostingKey]string

// Of is the epoch posting p of entry id names in its reference: its own
// epoch when it was numbered before the file was replaced, else current.
func (m PostingEpochs) Of(id EntryID, p uint32, current string) string {
	if e, ok := m[PostingKey{id, p}]; ok {
		return e
	}
	return current
}

// reference is the reference of an entry's current posting.
func (e *Engine) reference(en Entry) string {
	return PostingReference(e.Property, e.postingEpochs.Of(en.ID, en.Posting, e.epoch), en.ID, en.Posting)
}

// request builds the posting of an entry journaled as sent.
func (e *Engine) request(en Entry) PostRequest {
	return PostRequest{
		Number:      en.Posting,
		Room:        en.Room,
		AmountMinor: en.Charge.TotalMinor,
		Currency:    en.Charge.Currency,
		Start:       en.Call.Start,
		DurationS:   en.Call.DurationS,
		Dialed:      en.Call.Dialed,
		Class:       en.Charge.Class,
		Trunk:       en.Call.Trunk,
		Destination: en.Charge.Destination,
		Reference:   e.reference(en),
	}
}

// linkCapability is what the engine's PMS link can prove (blind when it
// does not implement PostProver, or declares a capability this engine does
// not know).
func linkCapability(l PMSLink) (PostCapability, PostProver) {
	p, ok := l.(PostProver)
	if !ok {
		return CapabilityBlind, nil
	}
	switch c := p.Capability(); c {
	case CapabilityLookup, CapabilityIdempotent:
		return c, p
	}
	return CapabilityBlind, nil
}

// firstSent returns when the entry's current posting first went to the PMS:
// its first move to sent since a person last put it back in the queue (its
// number changed then), from its history; the last sending when the history
// has none.
func firstSent(en Entry) time.Time {
	var t time.Time
	for _, h := range en.History {
		switch {
		case startsAfresh(h):
			t = time.Time{}
		case h.To == StateSent && t.IsZero():
			t = h.Time
		}
	}
	if t.IsZero() {
		return en.Sent
	}
	return t
}

// startsAfresh reports whether move h makes the entry's posting start
// afresh: a person put it back (reposted, transferred: a new number), or
// it went back to the queue from sent because the PMS said "not now" (a
// 429, RY), so that try stored nothing — not a charge, not a key.
func startsAfresh(h StateChange) bool {
	return h.To == StateReposted || h.To == StateTransferred || (h.To == StateQueued && h.From == StateSent)
}

// lostReason is the reason of the move to resolving after a lost answer.
func (e *Engine) lostReason(why, ref string) string {
	if e.capability == CapabilityIdempotent {
		return fmt.Sprintf("the PMS's answer was lost (%s): sending it again with the same key %s until the PMS answers", why, ref)
	}
	return fmt.Sprintf("the PMS's answer was lost (%s): looking up reference %s after %s", why, ref, e.LookupGrace)
}

// resolveEntry resolves an entry found resolving (left by a stop, or by a
// failed journal write): it reads its history for the first sending and
// goes on as resolve.
func (e *Engine) resolveEntry(ctx, postCtx context.Context, en Entry) PostOutcome {
	full, err := e.Queries.Entry(ctx, en.ID)
	if err != nil {
		if ctx.Err() == nil {
			e.Logger.Error().Err(err).Uint64("entry", uint64(en.ID)).Msg("reading a posting being resolved")
		}
		return PostTransient
	}
	req := e.request(full)
	req.FirstSent = firstSent(full)
	return e.resolve(ctx, postCtx, full, req, true)
}

// resolvingSoFar is what the journal shows of en's resolving so far, for
// a run that takes it over from the last: when it began (its first move to
// resolving since the posting last went out afresh) and how many lookups
// failed since (moves resolving → resolving). Zero when it has none, as for
// a posting whose answer this run lost.
func resolvingSoFar(en Entry) (began time.Time, failed int) {
	for _, h := range en.History {
		switch {
		case startsAfresh(h):
			began, failed = time.Time{}, 0
		case h.To == StateResolving && h.From == StateResolving:
			failed++
		case h.To == StateResolving && began.IsZero():
			began = h.Time
		}
	}
	return began, failed
}

// resolve proves what became of a posting whose answer was lost, on a
// lookup or idempotent link; en is journaled resolving and req is its
// posting with Reference and FirstSent set; graceDue says a lookup must
// wait the grace period first (a request that timed out may still commit).
// Every step is an event of the entry (docs/posting-safety.md):
//
//   - lookup: wait LookupGrace, then Lookup: found → posted (the PMS's id
//     as the answer); absent → sent again with the same reference; the PMS
//     could not be asked → resolving again, asked again with back-off. A
//     failure (a lookup failed, a resend's answer lost again) after
//     LookupTries failed lookups, or ResolveLimit since the resolving
//     began, → in doubt: the gateway never gives up without having just
//     tried (a link down meanwhile holds it, not the clock). Both count
//     across restarts: a run that takes over a posting left resolving
//     reads them from its history (resolvingSoFar).
//   - idempotent: sent again with the same reference (the key) with
//     back-off, until a definite answer; a resend that would go out more
//     than ResolveLimit after the posting first went out (the key's age)
//     is not made: in doubt.
//
// A resend answered posted, refused or vacant ends it as a first try would;
// a resend whose answer is lost again, or that was not taken (transient),
// goes back to resolving. It returns the outcome it ended with, and
// PostTransient, leaving the entry as it is, when ctx ended: the next start
// goes on with it.
func (e *Engine) resolve(ctx, postCtx context.Context, en Entry, req PostRequest, graceDue bool) PostOutcome {
	log := e.Logger.With().Uint64("entry", uint64(en.ID)).Uint32("posting", req.Number).Str("room", req.Room).Str("reference", req.Reference).Logger()
	began, failed := resolvingSoFar(en)
	if began.IsZero() {
		began = e.now()
	}
	// The back-off between steps: from RetryMin between resends, from the
	// grace period between lookups; doubling up to RetryMax (or the
	// grace).
	wait, most := e.RetryMin, e.RetryMax
	if e.capability == CapabilityLookup {
		wait, most = e.LookupGrace, max(e.RetryMax, e.LookupGrace)
	}
	resends := 0
	// step journals a move of the entry, trying again while the journal
	// cannot take it; false when postCtx ended first.
	step := func(c Change) bool {
		return e.journalAnswer(postCtx, log, req, en.ID, c)
	}
	// sleep shows a wait in the engine's status and waits it out; false
	// when ctx ended.
	sleep := func(cause TransientCause, d time.Duration) bool {
		w := &PostWait{Cause: cause, Entry: en.ID, Posting: req.Number, Room: req.Room, Reason: req.Reference, Wait: d, Until: e.now().Add(d)}
		e.count(func(s *Status) { s.Wait = w })
		defer e.count(func(s *Status) { s.Wait = nil })
		select {
		case <-ctx.Done():
			return false
		case <-e.clock().After(d):
			return true
		}
	}
	backoff := func() time.Duration {
		d := wait
		wait = min(2*wait, most)
		return d
	}
	inDoubt := func(reason string) PostOutcome {
		if step(Change{To: StateInDoubt, Reason: reason}) {
			log.Error().Msg("posting in doubt: " + reason)
			e.count(func(s *Status) { s.Postings[PostInDoubt]++ })
		}
		return PostInDoubt
	}
	for {
		if ctx.Err() != nil {
			return PostTransient
		}
		var resendWhy string
		switch e.capability {
		case CapabilityLookup:
			if graceDue {
				if !sleep(CauseLookup, e.LookupGrace) {
					return PostTransient
				}
				graceDue = false
			}
			if e.PMS.WaitReady(ctx) != nil {
				return PostTransient
			}
			res, err := e.prover.Lookup(postCtx, req)
			switch {
			case err != nil && !IsTransient(err):
				return inDoubt(fmt.Sprintf("the PMS cannot be asked about reference %s (%s): check the folio", req.Reference, errorText(err)))
			case err != nil:
				failed++
				if failed >= e.LookupTries {
					return inDoubt(fmt.Sprintf("looking up reference %s failed %d times (%s): check the folio", req.Reference, failed, errorText(err)))
				}
				if e.now().Sub(began) > e.ResolveLimit {
					return inDoubt(fmt.Sprintf("looking up reference %s still fails after %s (%s): check the folio", req.Reference, e.ResolveLimit, errorText(err)))
				}
				d := backoff()
				if !step(Change{To: StateResolving, Reason: fmt.Sprintf("looking up reference %s failed (try %d of %d: %s): asking again in %s", req.Reference, failed, e.LookupTries, errorText(err), d)}) {
					return PostTransient
				}
				log.Warn().Err(err).Int("try", failed).Msg("the PMS could not be asked about a posting whose answer was lost: asking again")
				if !sleep(CauseLookup, d) {
					return PostTransient
				}
				continue
			case res.Found:
				text := res.Text
				if text == "" {
					text = "booked as " + res.Answer
				}
				if !step(Change{To: StatePosted, Answer: &Answer{Code: "found", Text: text},
					Reason: fmt.Sprintf("looked up: the PMS holds reference %s (charge %s)", req.Reference, orNone(res.Answer))}) {
					return PostTransient
				}
				e.posted(log, req, PostResult{At: res.At}, en)
				return PostPosted
			}
			resendWhy = fmt.Sprintf("looked up: the PMS has no charge with reference %s: resent with the same reference", req.Reference)
		default: // CapabilityIdempotent
			if !sleep(CauseResend, backoff()) {
				return PostTransient
			}
			if e.PMS.WaitReady(ctx) != nil {
				return PostTransient
			}
			// Checked just before each resend: a key older than the PMS
			// keeps it could be booked a second time.
			if age := e.now().Sub(req.FirstSent); age > e.ResolveLimit {
				return inDoubt(fmt.Sprintf("no definite answer for key %s within %s of its first sending (the PMS keeps a key for a limited time, so it is not sent again): check the folio", req.Reference, e.ResolveLimit))
			}
			resends++
			resendWhy = fmt.Sprintf("resent with the same key %s (try %d)", req.Reference, resends+1)
		}
		// Send it again, with the same reference.
		if !step(Change{To: StateSent, Reason: resendWhy}) {
			return PostTransient
		}
		log.Info().Msg(resendWhy)
		res, err := e.PMS.Post(postCtx, req)
		e.notePost(en, req, res, err)
		answer := &Answer{Code: res.Answer, Text: res.Text}
		if res.Answer == "" && res.Text == "" {
			answer = nil
		}
		switch res.Outcome {
		case PostPosted:
			if !step(Change{To: StatePosted, Answer: answer}) {
				return PostTransient
			}
			e.posted(log, req, res, en)
			return PostPosted
		case PostRefused:
			step(Change{To: StateRefused, Answer: answer, Reason: Message(err)})
			log.Warn().Str("answer", res.Answer).Str("text", res.Text).Msg("the PMS refused the posting sent again: it waits for the night auditor")
			e.count(func(s *Status) { s.Postings[PostRefused]++ })
			return PostRefused
		case PostVacant:
			step(e.vacantChange(req, answer, err))
			e.count(func(s *Status) { s.Postings[PostVacant]++ })
			return PostVacant
		case PostTransient, PostInDoubt:
			why := "the answer to the resend was lost (" + errorText(err) + ")"
			if res.Outcome == PostTransient {
				why = "the resend was not taken (" + errorText(err) + ")"
			}
			next := "sending it again with the same key"
			if e.capability == CapabilityLookup {
				next = "looking it up again"
				graceDue = res.Outcome == PostInDoubt // a lost resend may still commit
			}
			if e.capability == CapabilityLookup && e.now().Sub(began) > e.ResolveLimit {
				return inDoubt(fmt.Sprintf("%s, and the PMS could not be shown to hold reference %s within %s: check the folio", why, req.Reference, e.ResolveLimit))
			}
			if !step(Change{To: StateResolving, Reason: why + ": " + next}) {
				return PostTransient
			}
			if res.Outcome == PostTransient && e.capability == CapabilityLookup && !sleep(CauseLookup, backoff()) {
				return PostTransient
			}
		default: // PostInvalid: it cannot be sent as it is
			step(Change{To: StateException, Reason: "cannot be sent as a posting: " + errorText(err)})
			e.count(func(s *Status) { s.Postings[PostInvalid]++ })
			return PostInvalid
		}
	}
}

// vacantChange is the move of a posting the PMS found no in-house stay for
// (PostVacant): the "room vacant" exception the engine makes from guest
// events, or, when the policy posts to vacant rooms, refused with the
// PMS's words (a cloud PMS has no folio to charge without a stay).
func (e *Engine) vacantChange(req PostRequest, answer *Answer, err error) Change {
	if e.PostToVacant {
		return Change{To: StateRefused, Answer: answer, Reason: fmt.Sprintf("the PMS has no guest in room %s to charge (%s)", req.Room, errorText(err))}
	}
	return Change{To: StateException, Reason: vacantReason(req.Room)}
}

func orNone(s string) string {
	if s == "" {
		return "id not given"
	}
	return s
}

// recoverSent handles a posting found sent at start (the gateway stopped
// while it was on the wire), by the link's capability: in doubt on a blind
// link; resolving on the others (the poster resolves it first).
func (e *Engine) recoverSent(ctx context.Context, en Entry) {
	log := e.Logger.With().Uint64("entry", uint64(en.ID)).Uint32("posting", en.Posting).Str("room", en.Room).Logger()
	if e.capability == CapabilityBlind {
		e.move(ctx, en.ID, Change{To: StateInDoubt, Reason: restartReason})
		log.Warn().Msg("posting in doubt after a restart")
		return
	}
	why := "the gateway stopped before it journaled the PMS's answer"
	e.move(ctx, en.ID, Change{To: StateResolving, Reason: e.lostReason(why, e.reference(en))})
	log.Warn().Msg("a posting left sent by the last run is being resolved with the PMS")
}

// recoverResolving handles a posting found resolving at start on a blind
// link (the PMS protocol changed): in doubt, for the night auditor.
func (e *Engine) recoverResolving(ctx context.Context, en Entry) {
	if e.capability != CapabilityBlind {
		return // the poster resolves it first
	}
	e.move(ctx, en.ID, Change{To: StateInDoubt, Reason: "its answer was lost and the PMS link now in use cannot look it up nor send it again safely: check the folio"})
	e.Logger.Warn().Uint64("entry", uint64(en.ID)).Uint32("posting", en.Posting).Msg("posting in doubt: the PMS link cannot resolve it")
}

// nextResolving returns the oldest posting being resolved, if any; only a
// lookup or idempotent link has them.
func (e *Engine) nextResolving(ctx context.Context) (Entry, bool) {
	if e.capability == CapabilityBlind {
		return Entry{}, false
	}
	es, err := e.Queries.Entries(ctx, Filter{States: []State{StateResolving}, Limit: 1})
	if err != nil || len(es) == 0 {
		if err != nil && ctx.Err() == nil {
			e.Logger.Error().Err(err).Msg("reading the postings being resolved")
		}
		return Entry{}, false
	}
	return es[0], true
}
