package gateway

import (
	"context"
	"fmt"
	"time"
)

// The poster's waits after a transient outcome (docs/posting-safety.md,
// "Waiting after a transient answer"). Each wait concerns one try and
// forgives: a definite answer (posted, refused, in doubt, invalid), to any
// posting, starts the busy wait over, so a PMS that answers busy to the
// first try of every posting costs each posting RetryMin, not a wait that
// grows from one posting to the next.
//
//   - busy (FIAS RY), or not sent (the link not ready, the journal not
//     writable): RetryMin, doubling up to RetryMax while the SAME posting
//     keeps getting it; anything else in between starts over.
//   - night audit (FIAS NA): NightAuditPoll, or until the PMS signals the
//     audit's end (NE), whichever comes first.

// CauseNotSent is a PostWait's cause when the posting never reached the
// PMS: the link was not ready, or the journal could not record its
// sending.
const CauseNotSent TransientCause = "not-sent"

// The causes of a PostWait while a posting whose answer was lost is
// resolved (resolve.go): the wait before looking it up (the grace period,
// or the back-off after a lookup the PMS could not answer), and before
// sending it again with the same key. Reason holds its reference.
const (
	CauseLookup TransientCause = "lookup"
	CauseResend TransientCause = "resend"
)

// PostWait is why the poster waits before its next try, and until when
// (Status.Wait).
type PostWait struct {
	// Cause is CauseBusy, CauseNightAudit, CauseNotSent, CauseLookup or
	// CauseResend.
	Cause TransientCause
	// Entry and Posting are the posting tried (Posting is 0 when it has
	// no number yet); Room its room.
	Entry   EntryID
	Posting uint32
	Room    string
	// Answer and Text are the PMS's answer code and text, "" when it did
	// not answer.
	Answer, Text string
	// Reason is why the posting was not sent (CauseNotSent), or its
	// reference (CauseLookup, CauseResend).
	Reason string
	// Wait is the whole wait; Until when it ends (sooner for a night audit
	// whose end the PMS signals).
	Wait  time.Duration
	Until time.Time
}

// Describe says the wait in a sentence for a person: "retrying P#12 in
// 4 s: the PMS answered RY (busy)", "waiting for the PMS's night audit to
// end (it answered NA to P#12), next try at 03:10:00 at the latest". now
// counts the time left; loc is the site's zone for the time of day.
func (w PostWait) Describe(now time.Time, loc *time.Location) string {
	name := fmt.Sprintf("P#%d", w.Posting)
	if w.Posting == 0 {
		name = fmt.Sprintf("entry %d", w.Entry)
	}
	answer := w.Answer
	switch {
	case answer == "" && w.Cause == CauseNightAudit:
		answer = "night audit running"
	case answer == "":
		answer = "busy"
	}
	switch w.Cause {
	case CauseNightAudit:
		if loc == nil {
			loc = time.UTC
		}
		return fmt.Sprintf("waiting for the PMS's night audit to end (it answered %s to %s), next try at %s at the latest",
			answer, name, w.Until.In(loc).Format("15:04:05"))
	case CauseNotSent:
		return fmt.Sprintf("sending %s again in %s: it was not sent (%s)", name, left(w.Until.Sub(now)), w.Reason)
	case CauseLookup:
		return fmt.Sprintf("looking up %s (reference %s) in %s: its answer was lost", name, w.Reason, left(w.Until.Sub(now)))
	case CauseResend:
		return fmt.Sprintf("sending %s again with the same key %s in %s: its answer was lost", name, w.Reason, left(w.Until.Sub(now)))
	}
	detail := "busy"
	if w.Text != "" {
		detail += ": " + w.Text
	}
	return fmt.Sprintf("retrying %s in %s: the PMS answered %s (%s)", name, left(w.Until.Sub(now)), answer, detail)
}

// left writes a wait's remaining time: whole seconds, rounded up, or
// milliseconds under a second.
func left(d time.Duration) string {
	switch {
	case d <= 0:
		return "a moment"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%d s", (d+time.Second-1)/time.Second)
}

// postTry is the outcome of the poster's last PMSLink.Post, as postSent had
// it (notePost); set is false when the try never reached Post.
type postTry struct {
	set   bool
	entry EntryID
	req   PostRequest
	res   PostResult
	err   error
}

// busyWait is the busy wait running for one posting.
type busyWait struct {
	entry EntryID
	wait  time.Duration
}

// notePost records the outcome of a Post for the poster's next wait; a
// definite outcome starts the busy wait over, whatever posting it was.
func (e *Engine) notePost(sent Entry, req PostRequest, res PostResult, err error) {
	e.lastTry = postTry{set: true, entry: sent.ID, req: req, res: res, err: err}
	if res.Outcome != PostTransient {
		e.busy = busyWait{}
	}
}

// beginTry prepares the poster's next try: it forgets the last Post's
// outcome and returns the channel the night audit's end closes (taken
// before the try, so that an NE arriving while it is on the wire counts).
func (e *Engine) beginTry() <-chan struct{} {
	e.lastTry = postTry{}
	e.naMu.Lock()
	defer e.naMu.Unlock()
	if e.naEnd == nil {
		e.naEnd = make(chan struct{})
	}
	return e.naEnd
}

// endNightAudit wakes a poster waiting out the night audit (the PMS's NE).
func (e *Engine) endNightAudit() {
	e.naMu.Lock()
	defer e.naMu.Unlock()
	if e.naEnd != nil {
		close(e.naEnd)
		e.naEnd = nil
	}
}

// retryWait returns the wait after a try of entry tried that ended with
// outcome o (the last posting of a drain's chain when Post was reached:
// lastTry says which), or nil when there is none to wait.
func (e *Engine) retryWait(tried Entry, o PostOutcome) *PostWait {
	if o != PostTransient {
		e.busy = busyWait{}
		return nil
	}
	w := &PostWait{Cause: CauseNotSent, Entry: tried.ID, Posting: tried.Posting, Room: tried.Room}
	if t := e.lastTry; !t.set {
		w.Reason = "the journal could not record its sending"
	} else {
		w.Entry, w.Posting, w.Room = t.entry, t.req.Number, t.req.Room
		w.Answer, w.Text = t.res.Answer, t.res.Text
		switch {
		case !t.res.Sent:
			w.Reason = errorText(t.err)
		case t.res.Cause == CauseNightAudit:
			w.Cause = CauseNightAudit
		default:
			w.Cause = CauseBusy
		}
	}
	if w.Cause == CauseNightAudit {
		e.busy = busyWait{}
		w.Wait = e.NightAuditPoll
	} else {
		if e.busy.entry == w.Entry && e.busy.wait > 0 {
			e.busy.wait = min(2*e.busy.wait, e.RetryMax)
		} else {
			e.busy = busyWait{entry: w.Entry, wait: e.RetryMin}
		}
		w.Wait = e.busy.wait
	}
	w.Until = e.now().Add(w.Wait)
	return w
}

// pause waits after a try of entry tried that ended with outcome o, as
// retryWait says, showing the wait in the engine's status; naEnd is
// beginTry's channel. It returns false when ctx ended.
func (e *Engine) pause(ctx context.Context, tried Entry, naEnd <-chan struct{}, o PostOutcome) bool {
	w := e.retryWait(tried, o)
	if w == nil {
		return true
	}
	e.count(func(s *Status) { s.Wait = w })
	defer e.count(func(s *Status) { s.Wait = nil })
	e.Logger.Debug().Uint64("entry", uint64(w.Entry)).Uint32("posting", w.Posting).Str("cause", string(w.Cause)).
		Dur("wait", w.Wait).Msg("the poster waits before its next try")
	var end <-chan struct{}
	if w.Cause == CauseNightAudit {
		end = naEnd
	}
	select {
	case <-ctx.Done():
		return false
	case <-e.clock().After(w.Wait):
	case <-end:
	}
	return true
}
