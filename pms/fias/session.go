package fias

import (
	"errors"
	"fmt"
	"time"

	"callgate/gateway"
)

// The link records the gateway describes (LR), in order: the record types it
// receives and sends, each with the fields it uses. Guest records carry
// what gateway.Guest holds; PS what a call posting needs; NS/NE only DA/TI.
func (l *Link) linkRecords() []Record {
	ps := "RNPTTADATIDUDDPCPX"
	pa := "RNASCTP#DATI"
	if l.o.SalesOutlet != "" {
		ps += "SO"
		pa += "SO"
	}
	ps += "P#CT"
	fl := func(ri, fields string) Record { return NewRecord("LR", "RI", ri, "FL", fields) }
	return []Record{
		fl("GI", "RNG#GSGNGFGTGLGVGGGAGDNPCSSFDATI"),
		fl("GO", "RNG#GSSFDATI"),
		fl("GC", "RNG#GSGNGFGTGLGVGGGAGDNPCSRODATI"),
		fl("PS", ps),
		fl("PA", pa),
		fl("NS", "DATI"),
		fl("NE", "DATI"),
	}
}

// errClosing ends a session because Close was called.
var errClosing = errors.New("the gateway is stopping")

// session is one connection's life: handshake, alive, postings, until the
// connection breaks or the link closes.
type session struct {
	l    *Link
	conn FrameConn

	described    bool
	everAlive    bool
	listenUntil  time.Time // describe unasked when no LS came by then
	laUntil      time.Time // the PMS must answer our description by then
	checkUntil   time.Time // the PMS must answer our alive check by then
	lastRx       time.Time
	lastLS       time.Time
	lastLAAnswer time.Time
	peerLD       bool // the PMS sent its own link description (LD): its LA wants ours

	out      *postOp // the posting waiting for its PA
	outUntil time.Time

	resync        bool // a resync runs (we asked, or the PMS sent DS)
	resyncStarted bool // its ResyncStart event went out
	resyncUntil   time.Time

	lastDescribed   time.Time // when the link was last described
	describePending bool      // an LS came too soon after the last description: describe at lastDescribed+DescribeEvery

	// pausedAt is when reading stopped because the guest-event queue is
	// full (zero while reading): the PMS's deadlines stand still meanwhile.
	pausedAt time.Time
}

// session runs one connection until it fails or the link closes, and
// reports whether the link was alive at some point.
func (l *Link) session(conn FrameConn) (bool, error) {
	frames := make(chan []byte)
	rerr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			b, err := conn.ReadFrame()
			if err != nil {
				rerr <- err
				return
			}
			select {
			case frames <- b:
			case <-stop:
				return
			}
		}
	}()
	now := time.Now()
	s := &session{l: l, conn: conn, listenUntil: now.Add(l.o.ListenWait), lastRx: now}
	l.setStatus(func(st *gateway.LinkStatus) { st.State, st.Err = gateway.LinkStarting, "" })
	err := s.loop(frames, rerr)
	s.end(err)
	return s.everAlive, err
}

func (s *session) loop(frames <-chan []byte, rerr <-chan error) error {
	l := s.l
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		in, room := frames, (<-chan struct{})(nil)
		if l.events.full(!s.pausedAt.IsZero()) {
			// Back-pressure: read no more records until the engine took
			// some guest events; TCP's flow control holds the PMS back.
			in, room = nil, l.events.room
			if s.pausedAt.IsZero() {
				s.pausedAt = time.Now()
				l.log.Debug().Msg("guest events back up: reading from the PMS paused")
			}
		} else if !s.pausedAt.IsZero() {
			s.resume(time.Now())
		}
		timer.Reset(time.Until(s.next()))
		select {
		case <-room:
		case b := <-in:
			if err := s.onFrame(b); err != nil {
				return err
			}
		case err := <-rerr:
			return fmt.Errorf("the connection to the PMS was lost: %w", unwrapOp(err))
		case op := <-l.postc:
			if err := s.onPost(op); err != nil {
				return err
			}
		case r := <-l.resyncc:
			if err := s.onResync(r); err != nil {
				return err
			}
		case <-timer.C:
			if err := s.onTimer(time.Now()); err != nil {
				return err
			}
		case <-l.closec:
			return s.closeLink(frames, rerr)
		}
	}
}

// resume ends a pause of reading: the deadlines that wait on the PMS move
// by the pause, which the PMS did not cause (its answer may have waited in
// the socket).
func (s *session) resume(now time.Time) {
	d := now.Sub(s.pausedAt)
	s.pausedAt = time.Time{}
	for _, t := range []*time.Time{&s.listenUntil, &s.laUntil, &s.checkUntil, &s.outUntil, &s.resyncUntil} {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
	s.lastRx = now
	s.l.log.Debug().Dur("paused", d).Msg("reading from the PMS resumed")
}

// next returns when the loop must next look at its timers.
func (s *session) next() time.Time {
	next := time.Now().Add(time.Hour)
	if !s.pausedAt.IsZero() {
		return next // no deadline runs while the link does not read
	}
	if s.describePending {
		next = s.lastDescribed.Add(s.l.o.DescribeEvery)
	}
	for _, t := range []time.Time{s.listenUntil, s.laUntil, s.checkUntil, s.outUntil, s.resyncUntil} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	if st := s.l.Status(); st.State == gateway.LinkAlive {
		if due := s.aliveCheckDue(); due.Before(next) {
			next = due
		}
		if st.NightAudit {
			s.l.mu.Lock()
			end := s.l.naSince.Add(s.l.o.NightAuditMax)
			s.l.mu.Unlock()
			if end.Before(next) {
				next = end
			}
		}
	}
	return next
}

func (s *session) aliveCheckDue() time.Time {
	due := s.lastRx.Add(s.l.o.AliveInterval)
	if d := s.lastLS.Add(s.l.o.AliveInterval); d.After(due) {
		due = d
	}
	return due
}

func (s *session) onTimer(now time.Time) error {
	l := s.l
	if s.describePending && !now.Before(s.lastDescribed.Add(l.o.DescribeEvery)) {
		if err := s.describe(); err != nil {
			return err
		}
	}
	if !s.listenUntil.IsZero() && !now.Before(s.listenUntil) {
		s.listenUntil = time.Time{}
		if !s.described {
			l.log.Debug().Msg("no LS from the PMS: describing the link unasked")
			if err := s.describe(); err != nil {
				return err
			}
		}
	}
	if !s.laUntil.IsZero() && !now.Before(s.laUntil) {
		return fmt.Errorf("the PMS did not answer the link description with LA within %v: check that the interface is running in OPERA and expects interface family %s", l.o.LinkTimeout, l.o.InterfaceFamily)
	}
	if !s.checkUntil.IsZero() && !now.Before(s.checkUntil) {
		return fmt.Errorf("the PMS did not answer the alive check (LS) with LA within %v", l.o.LinkTimeout)
	}
	if s.out != nil && !now.Before(s.outUntil) {
		op := s.out
		s.out, s.outUntil = nil, time.Time{}
		l.rememberInDoubt(op.number)
		l.settle(op, gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true},
			inDoubt(op.req, fmt.Sprintf("the PMS did not answer within %v", l.o.AnswerTimeout)))
		// A PMS that leaves a posting unanswered may be gone without the
		// connection saying so: check it now, not at the next alive check.
		if s.checkUntil.IsZero() && s.laUntil.IsZero() {
			l.log.Info().Msg("a posting went unanswered: checking the PMS is alive (LS)")
			if err := s.write(s.stamp("LS")); err != nil {
				return err
			}
			s.lastLS = now
			s.checkUntil = now.Add(l.o.LinkTimeout)
		}
	}
	if s.resync && !now.Before(s.resyncUntil) {
		if s.resyncStarted {
			l.log.Warn().Msg("the PMS's resync went quiet without its end mark (DE): taken as over, incomplete")
		} else {
			l.log.Warn().Msg("the PMS did not answer the resync request (DR)")
		}
		s.endResync(true)
	}
	st := l.Status()
	if st.State != gateway.LinkAlive {
		return nil
	}
	if st.NightAudit {
		l.mu.Lock()
		over := !now.Before(l.naSince.Add(l.o.NightAuditMax))
		l.mu.Unlock()
		if over {
			l.log.Warn().Dur("after", l.o.NightAuditMax).Msg("the PMS's night audit never signalled its end (NE): postings resume")
			l.setStatus(func(st *gateway.LinkStatus) { st.NightAudit = false })
		}
	}
	if s.out == nil && !s.resync && s.checkUntil.IsZero() && !now.Before(s.aliveCheckDue()) {
		if err := s.write(s.stamp("LS")); err != nil {
			return err
		}
		s.lastLS = now
		s.checkUntil = now.Add(l.o.LinkTimeout)
	}
	return nil
}

// stamp returns a link record of type typ with DA and TI of now, wall
// clock in the site's zone.
func (s *session) stamp(typ string) Record {
	now := s.l.o.Now().In(s.l.o.Location)
	return NewRecord(typ, "DA", now.Format("060102"), "TI", now.Format("150405"))
}

func (s *session) write(r Record) error {
	body, err := s.l.codec.Encode(r)
	if err != nil {
		return err
	}
	if err := s.conn.WriteFrame(body); err != nil {
		return fmt.Errorf("cannot send %s to the PMS: %w", r.Type, err)
	}
	return nil
}

// describe sends LD, the LRs and LA, and waits for the PMS's LA.
func (s *session) describe() error {
	l := s.l
	if st := l.Status(); st.State == gateway.LinkAlive {
		l.log.Info().Msg("the PMS asked for the link description again (LS): it may have restarted")
	}
	l.setStatus(func(st *gateway.LinkStatus) { st.State = gateway.LinkStarting })
	if s.resync {
		s.endResync(true)
	}
	ld := s.stamp("LD")
	ld.Add("V#", l.o.VendorVersion)
	ld.Add("IF", l.o.InterfaceFamily)
	recs := append([]Record{ld}, l.linkRecords()...)
	recs = append(recs, s.stamp("LA"))
	for _, r := range recs {
		if err := s.write(r); err != nil {
			return err
		}
	}
	s.described, s.describePending = true, false
	s.lastDescribed = time.Now()
	s.listenUntil, s.checkUntil = time.Time{}, time.Time{}
	s.laUntil = time.Now().Add(l.o.LinkTimeout)
	return nil
}

// onLS answers the PMS's LS with the link description, at most once per
// DescribeEvery: the LSes that come sooner are answered by one description
// when that time is up (docs/fias.md, "Link start"). Postings wait from the
// LS on.
func (s *session) onLS(now time.Time) error {
	l := s.l
	if s.lastDescribed.IsZero() || !now.Before(s.lastDescribed.Add(l.o.DescribeEvery)) {
		return s.describe()
	}
	if !s.describePending {
		s.describePending = true
		l.log.Info().Dur("within", l.o.DescribeEvery).Msg("the PMS asked for the link description again (LS) soon after the last: it is described again once that time is up")
	}
	l.setStatus(func(st *gateway.LinkStatus) { st.State = gateway.LinkStarting })
	if s.resync {
		s.endResync(true)
	}
	return nil
}

func (s *session) onFrame(b []byte) error {
	l := s.l
	now := time.Now()
	s.lastRx = now
	r, err := l.codec.Decode(b)
	if err != nil {
		l.log.Warn().Err(err).Msg("a frame from the PMS is not a FIAS record: ignored")
		return nil
	}
	switch r.Type {
	case "LS":
		return s.onLS(now)
	case "LD":
		// The PMS describes its side of the link (some answer an alive
		// check so): its LA closes the description and waits for ours.
		s.peerLD = true
		l.log.Debug().Str("record", r.String()).Msg("the PMS describes its side of the link")
	case "LR":
	case "LA":
		st := l.Status()
		// A PMS's own description (LD … LA) is answered with LA whenever
		// it comes, as the PMS answers ours (docs/fias.md, "Alive checks").
		answer := s.peerLD
		s.peerLD = false
		switch {
		case st.State == gateway.LinkStarting && s.described:
			// The PMS took the description: a pending one is not needed.
			s.laUntil, s.describePending = time.Time{}, false
			s.everAlive = true
			l.setStatus(func(st *gateway.LinkStatus) { st.State = gateway.LinkAlive })
		case st.State == gateway.LinkStarting:
			return s.describe() // ends with our LA
		case !s.checkUntil.IsZero():
			s.checkUntil = time.Time{}
		case !answer && !s.resync && now.Sub(s.lastLAAnswer) >= l.o.AliveInterval:
			// An LA we did not ask for: answer it, but never twice within
			// AliveInterval, so that two peers cannot ping-pong.
			answer = true
		}
		if answer {
			s.lastLAAnswer = now
			return s.write(s.stamp("LA"))
		}
	case "LE":
		s.write(s.stamp("LE"))
		return errors.New("the PMS ended the link (LE): it is stopping or restarting")
	case "LC":
		l.log.Debug().Str("record", r.String()).Msg("link configuration from the PMS")
	case "PA":
		s.onPA(r)
	case "DS":
		if !s.resync {
			s.resync = true
			l.setStatus(func(st *gateway.LinkStatus) { st.Resync = true })
		}
		s.resyncUntil = now.Add(l.o.ResyncTimeout)
		if !s.resyncStarted {
			s.resyncStarted = true
			ev, _ := GuestEvent(r)
			l.events.push(ev)
		}
	case "DE":
		if !s.resync {
			l.log.Debug().Msg("a resync end mark (DE) with no resync running: ignored")
			return nil
		}
		s.endResync(false)
	case "NS", "NE":
		on := r.Type == "NS"
		l.mu.Lock()
		if on && !l.status.NightAudit {
			l.naSince = now
		}
		l.mu.Unlock()
		l.setStatus(func(st *gateway.LinkStatus) { st.NightAudit = on })
		ev, _ := GuestEvent(r)
		l.events.push(ev)
	case "GI", "GO", "GC":
		ev, _ := GuestEvent(r)
		if !s.resync {
			// SF outside a resync (one we asked for with DR, or one the
			// PMS opened with DS) is a PMS filling every declared field:
			// a real-time record.
			ev.Resync = false
		}
		if s.resync {
			s.resyncUntil = now.Add(l.o.ResyncTimeout)
			if ev.Resync && !s.resyncStarted {
				// A resync without DS (as Protel sends it).
				s.resyncStarted = true
				l.events.push(gateway.GuestEvent{Kind: gateway.ResyncStart, Time: ev.Time})
			}
		}
		l.events.push(ev)
	default:
		l.log.Debug().Str("type", r.Type).Msg("a record the gateway does not use: ignored")
	}
	return nil
}

// wallClock returns now as the site's wall clock in a time whose Location
// is UTC and means nothing, as guest events carry their times.
func (l *Link) wallClock() time.Time {
	t := l.o.Now().In(l.o.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// endResync ends the running resync; partial when it did not end with DE.
func (s *session) endResync(partial bool) {
	if s.resyncStarted || !partial {
		s.l.events.push(gateway.GuestEvent{Kind: gateway.ResyncEnd, Partial: partial, Time: s.l.wallClock()})
	}
	s.resync, s.resyncStarted, s.resyncUntil = false, false, time.Time{}
	s.l.setStatus(func(st *gateway.LinkStatus) { st.Resync = false })
}

func (s *session) onPA(r Record) {
	l := s.l
	numbers := r.All("P#")
	if len(numbers) != 1 || numbers[0] == "" {
		l.log.Warn().Int("numbers", len(numbers)).Msg("a posting answer (PA) without exactly one posting number: ignored")
		return
	}
	n := numbers[0]
	as := r.Value("AS")
	if s.out == nil || s.out.number != n {
		switch l.recall(n) {
		case "in-doubt":
			l.log.Warn().Str("posting", n).Str("answer", as).Str("text", r.Value("CT")).
				Msg("a late answer for a posting already in doubt: it stays in doubt; check the folio")
		case "answered":
			l.log.Warn().Str("posting", n).Str("answer", as).Msg("a second answer for a posting already answered: ignored")
		default:
			l.log.Warn().Str("posting", n).Str("answer", as).Msg("an answer for a posting the gateway is not waiting for: ignored")
		}
		return
	}
	op := s.out
	s.out, s.outUntil = nil, time.Time{}
	l.remember(n, "answered")
	ct := r.Value("CT")
	res := gateway.PostResult{Outcome: Answer(as), Sent: true, Answer: as, Text: ct, Cause: answerCause(as)}
	var err error
	detail := as + " (" + answerMeaning(as) + ")"
	if ct != "" {
		detail += ": " + ct
	}
	switch res.Outcome {
	case gateway.PostTransient:
		err = gateway.Errorf(gateway.KindTransient, "the PMS did not take posting %d for room %s now: %s", op.req.Number, op.req.Room, detail)
	case gateway.PostRefused:
		err = gateway.Errorf(gateway.KindRejected, "the PMS refused posting %d for room %s: %s", op.req.Number, op.req.Room, detail)
	}
	l.log.Debug().Str("posting", n).Str("answer", as).Msg("posting answered")
	l.settle(op, res, err)
}

func (s *session) onPost(op *postOp) error {
	l := s.l
	if st := l.Status(); !st.Ready() || s.out != nil {
		l.refuse(op, notReadyReason(st))
		return nil
	}
	if !op.state.CompareAndSwap(0, 1) {
		<-l.slot // its caller gave up before it was sent
		return nil
	}
	body, err := l.codec.Encode(op.rec)
	if err != nil {
		l.settle(op, gateway.PostResult{Outcome: gateway.PostInvalid}, gateway.Wrap(gateway.KindInvalid, err, fmt.Sprintf("posting %d", op.req.Number)))
		return nil
	}
	if err := s.conn.WriteFrame(body); err != nil {
		if errors.Is(err, ErrNotDelivered) {
			l.settle(op, gateway.PostResult{Outcome: gateway.PostTransient},
				gateway.Errorf(gateway.KindTransient, "posting %d for room %s not sent: %v", op.req.Number, op.req.Room, err))
		} else {
			l.rememberInDoubt(op.number)
			l.settle(op, gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true},
				inDoubt(op.req, "the link failed while it was being sent: "+err.Error()))
		}
		return fmt.Errorf("cannot send a posting to the PMS: %w", err)
	}
	s.out, s.outUntil = op, time.Now().Add(l.o.AnswerTimeout)
	l.log.Debug().Str("posting", op.number).Msg("posting sent")
	return nil
}

func (s *session) onResync(reply chan error) error {
	l := s.l
	if st := l.Status(); st.State != gateway.LinkAlive || s.resync {
		why := notReadyReason(st)
		if s.resync {
			why = "a resync is already running"
		}
		reply <- gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: %s", why)
		return nil
	}
	if err := s.write(s.stamp("DR")); err != nil {
		reply <- gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: %v", err)
		return err
	}
	s.resync, s.resyncStarted = true, false
	s.resyncUntil = time.Now().Add(l.o.ResyncTimeout)
	l.setStatus(func(st *gateway.LinkStatus) { st.Resync = true })
	reply <- nil
	return nil
}

// closeLink ends the link in order: LE, then wait briefly for the PMS's LE.
func (s *session) closeLink(frames <-chan []byte, rerr <-chan error) error {
	if s.described {
		if err := s.write(s.stamp("LE")); err != nil {
			return errClosing
		}
		t := time.NewTimer(s.l.o.LEWait)
		defer t.Stop()
		for {
			select {
			case b := <-frames:
				if r, err := s.l.codec.Decode(b); err == nil && r.Type == "LE" {
					return errClosing
				} else if err == nil && r.Type == "PA" {
					s.onPA(r)
				}
			case <-rerr:
				return errClosing
			case <-t.C:
				return errClosing
			}
		}
	}
	return errClosing
}

// end settles what the session leaves behind: the posting in flight is in
// doubt, a running resync is incomplete.
func (s *session) end(err error) {
	l := s.l
	if s.out != nil {
		op := s.out
		s.out = nil
		l.rememberInDoubt(op.number)
		why := "the link was lost while waiting for its answer (" + err.Error() + ")"
		if errors.Is(err, errClosing) {
			why = "the gateway stopped while waiting for its answer"
		}
		l.settle(op, gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true}, inDoubt(op.req, why))
	}
	if s.resync {
		s.endResync(true)
	}
}

// recent remembers what became of the last postings, to say what a stray
// answer is.
type recent struct {
	order []string
	state map[string]string
}

func (l *Link) remember(n, state string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recent.state == nil {
		l.recent.state = map[string]string{}
	}
	if _, ok := l.recent.state[n]; !ok {
		l.recent.order = append(l.recent.order, n)
		if len(l.recent.order) > 256 {
			delete(l.recent.state, l.recent.order[0])
			l.recent.order = l.recent.order[1:]
		}
	}
	l.recent.state[n] = state
}

func (l *Link) rememberInDoubt(n string) { l.remember(n, "in-doubt") }

func (l *Link) recall(n string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recent.state[n]
}
