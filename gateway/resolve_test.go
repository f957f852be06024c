package gateway_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// Posting safety by capability (resolve.go, docs/posting-safety.md): the
// fake PMS plays a lookup or idempotent PMS with a ledger, and loses
// answers after or before applying a charge.

var referenceRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,40}$`)

func TestPostingReference(t *testing.T) {
	const epoch = "3f2a9c1d-7b4e-4c2a-9d1e-0a1b2c3d4e5f"
	for _, tc := range []struct {
		property, epoch string
		entry           gateway.EntryID
		posting         uint32
		want            string
	}{
		{"Grand Hotel", epoch, 1042, 57, "grand-hotel-3f2a9c1d-1042-57"},
		{"", epoch, 1, 1, "3f2a9c1d-1-1"},
		{"  Hôtel de l'Europe & Spa (Main)  ", epoch, 7, 99_999_999, "h-tel-de-l-europ-3f2a9c1d-7-99999999"},
		{"Grand Hotel", epoch, 18_446_744_073_709_551_615, 99_999_999, "3f2a9c1d-18446744073709551615-99999999"},
		{"Grand Hotel", "", 5, 6, "grand-hotel-0-5-6"},
		{"---", "fake-0123456789", 5, 6, "fake0123-5-6"},
	} {
		got := gateway.PostingReference(tc.property, tc.epoch, tc.entry, tc.posting)
		if got != tc.want {
			t.Errorf("PostingReference(%q, %q, %d, %d) = %q, want %q", tc.property, tc.epoch, tc.entry, tc.posting, got, tc.want)
		}
		if !referenceRE.MatchString(got) {
			t.Errorf("%q is not 1 to 40 characters of [A-Za-z0-9-]", got)
		}
	}
	// Distinct across entries, postings and journals (epochs).
	seen := map[string]bool{}
	for _, ep := range []string{epoch, "9e8d7c6b-0000-4000-8000-000000000000"} {
		for entry := gateway.EntryID(1); entry <= 30; entry++ {
			for posting := uint32(1); posting <= 30; posting++ {
				ref := gateway.PostingReference("Grand Hotel", ep, entry, posting)
				if seen[ref] {
					t.Fatalf("reference %q given twice", ref)
				}
				seen[ref] = true
			}
		}
	}
}

func FuzzPostingReference(f *testing.F) {
	f.Add("Grand Hotel", "3f2a9c1d-7b4e-4c2a-9d1e-0a1b2c3d4e5f", uint64(1), uint32(1))
	f.Add("", "", uint64(0), uint32(0))
	f.Fuzz(func(t *testing.T, property, epoch string, entry uint64, posting uint32) {
		ref := gateway.PostingReference(property, epoch, gateway.EntryID(entry), posting)
		if !referenceRE.MatchString(ref) || strings.HasPrefix(ref, "-") || strings.HasSuffix(ref, "-") || strings.Contains(ref, "--") {
			t.Errorf("PostingReference(%q, %q, %d, %d) = %q", property, epoch, entry, posting, ref)
		}
	})
}

// capRig is a rig whose fake PMS has capability c.
func capRig(t *testing.T, c gateway.PostCapability, configure ...func(*gateway.Engine)) *rig {
	r := newRig(t, false, append([]func(*gateway.Engine){func(e *gateway.Engine) { e.Property = "Grand Hotel" }}, configure...)...)
	r.pms.SetCapability(c)
	return r
}

// reasons returns the reasons of the entry's history, in order.
func reasons(en gateway.Entry) string {
	var b strings.Builder
	for _, h := range en.History {
		b.WriteString(string(h.From) + "→" + string(h.To) + ": " + h.Reason + "\n")
	}
	return b.String()
}

// advanceUntil moves the clock on by step until entry id is in state want.
func (r *rig) advanceUntil(id gateway.EntryID, want gateway.State, step time.Duration) gateway.Entry {
	r.t.Helper()
	for {
		var en gateway.Entry
		pace, cancel := context.WithTimeout(r.ctx, 20*time.Millisecond)
		ok := r.j.Await(pace, func() bool {
			en, _ = r.j.Entry(r.ctx, id)
			return en.State == want
		})
		cancel()
		if ok {
			return en
		}
		if r.ctx.Err() != nil {
			r.t.Fatalf("entry %d is %s, want %s:\n%s", id, en.State, want, reasons(en))
		}
		r.clock.Advance(step)
	}
}

// reference is the reference the engine gives entry en's posting.
func (r *rig) reference(en gateway.Entry) string {
	info, err := r.j.Info(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return gateway.PostingReference("Grand Hotel", info.Epoch, en.ID, en.Posting)
}

// A lookup PMS that booked the charge and lost its answer: after the grace
// period the engine looks it up, finds it, and journals it posted with
// the PMS's id; it is never sent again.
func TestEngineLookupFindsAChargeAppliedBeforeItsAnswerWasLost(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup).run()
	r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StateResolving)
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no grace period")
	}
	r.clock.Advance(30*time.Second - time.Millisecond)
	if n := len(r.pms.Lookups()); n != 0 {
		t.Fatalf("looked up %d times before the grace period passed", n)
	}
	r.clock.Advance(time.Millisecond)
	en := r.await(id, gateway.StatePosted)
	ref := r.reference(en)
	if en.Answer == nil || en.Answer.Code != "found" || !strings.Contains(en.Answer.Text, "C1") {
		t.Errorf("answer %+v, want found C1", en.Answer)
	}
	if h := reasons(en); !strings.Contains(h, "sent→resolving: the PMS's answer was lost") || !strings.Contains(h, "resolving→posted: looked up: the PMS holds reference "+ref+" (charge C1)") {
		t.Errorf("history:\n%s", h)
	}
	lk := r.pms.Lookups()
	if len(lk) != 1 || lk[0].Reference != ref || lk[0].FirstSent.IsZero() || !lk[0].FirstSent.Equal(en.History[len(en.History)-3].Time) {
		t.Errorf("lookups %+v, want one of %s bounded by its first sending", lk, ref)
	}
	if p := r.pms.Posted(); len(p) != 1 || r.pms.Charges(ref) != 1 || p[0].Reference != ref || !p[0].FirstSent.IsZero() {
		t.Errorf("sent %d times, %d charges with %s, first try %+v", len(p), r.pms.Charges(ref), ref, p)
	}
}

// A lookup PMS that lost the posting before applying it: the lookup finds
// nothing, the engine sends it again with the same reference, once.
func TestEngineLookupResendsAChargeLostBeforeApplying(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup).run()
	r.pms.Answer(gatewaytest.Reply{Timeout: true})
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StateResolving)
	en := r.advanceUntil(id, gateway.StatePosted, 10*time.Second)
	ref := r.reference(en)
	p := r.pms.Posted()
	if len(p) != 2 || p[0].Reference != ref || p[1].Reference != ref || p[0].Number != p[1].Number || p[1].FirstSent.IsZero() {
		t.Fatalf("sent %+v, want twice with reference %s", p, ref)
	}
	if n := r.pms.Charges(ref); n != 1 {
		t.Errorf("%d charges with %s, want 1", n, ref)
	}
	if h := reasons(en); !strings.Contains(h, "resolving→sent: looked up: the PMS has no charge with reference "+ref+": resent with the same reference") {
		t.Errorf("history:\n%s", h)
	}
	// The next posting has its own reference.
	b := r.send("out 103 4416 70")
	enB := r.await(b, gateway.StatePosted)
	if refB := r.reference(enB); refB == ref || r.pms.Posted()[2].Reference != refB {
		t.Errorf("second posting's reference %q (first %q)", refB, ref)
	}
}

// An idempotent PMS: the engine sends the posting again with the same key
// after RetryMin, and the PMS books it once, whether it had applied it or
// not.
func TestEngineIdempotentResendsWithTheSameKey(t *testing.T) {
	for _, applied := range []bool{true, false} {
		t.Run(map[bool]string{true: "lost after applying", false: "lost before applying"}[applied], func(t *testing.T) {
			r := capRig(t, gateway.CapabilityIdempotent).run()
			r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: applied}, gatewaytest.Reply{Timeout: true, Applied: applied})
			id := r.send("out 101 4416 60")
			r.await(id, gateway.StateResolving)
			if !r.clock.WaitFor(r.ctx, 1) {
				t.Fatal("no back-off before the resend")
			}
			r.clock.Advance(5*time.Second - time.Millisecond)
			if n := len(r.pms.Posted()); n != 1 {
				t.Fatalf("resent before the back-off: %d sent", n)
			}
			r.clock.Advance(time.Millisecond)
			// The resend's answer is lost too: resolving again, 10 s.
			en := r.advanceUntil(id, gateway.StatePosted, 5*time.Second)
			ref := r.reference(en)
			p := r.pms.Posted()
			if len(p) != 3 || p[2].Reference != ref || p[1].Reference != ref || p[0].Reference != ref {
				t.Fatalf("sent %+v, want 3 times with key %s", p, ref)
			}
			if n := r.pms.Charges(ref); n != 1 {
				t.Errorf("%d charges with %s, want 1", n, ref)
			}
			h := reasons(en)
			for _, want := range []string{
				"sent→resolving: the PMS's answer was lost",
				"resolving→sent: resent with the same key " + ref + " (try 2)",
				"sent→resolving: the answer to the resend was lost",
				"resolving→sent: resent with the same key " + ref + " (try 3)",
			} {
				if !strings.Contains(h, want) {
					t.Errorf("history lacks %q:\n%s", want, h)
				}
			}
			if len(r.pms.Lookups()) != 0 {
				t.Error("an idempotent PMS was asked a lookup")
			}
		})
	}
}

// A lookup the PMS keeps failing: asked again with back-off, each failure
// a step of the entry, in doubt after LookupTries; never sent again.
func TestEngineLookupFailingPastTheLimitIsInDoubt(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup, func(e *gateway.Engine) { e.LookupTries = 3 }).run()
	r.pms.FailLookups(100)
	r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
	id := r.send("out 101 4416 60")
	en := r.advanceUntil(id, gateway.StateInDoubt, 10*time.Second)
	if n := len(r.pms.Lookups()); n != 3 {
		t.Errorf("%d lookups, want 3", n)
	}
	if n := len(r.pms.Posted()); n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
	h := reasons(en)
	for _, want := range []string{"resolving→resolving: looking up reference", "(try 1 of 3", "(try 2 of 3", "resolving→in-doubt: looking up reference", "failed 3 times", "503"} {
		if !strings.Contains(h, want) {
			t.Errorf("history lacks %q:\n%s", want, h)
		}
	}
	r.tickUntilAlarm(gateway.AlarmInDoubt, true)
}

// The lookups a stopped gateway already failed count for the next run: a
// posting left resolving after two failed lookups, with LookupTries 3, is
// in doubt after one more failure, not three more.
func TestEngineLookupTriesCountAcrossRestarts(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup, func(e *gateway.Engine) { e.LookupTries = 3 })
	ctx := r.ctx
	raw := gateway.RawRecord{Data: []byte("out 101 4416 10"), Received: r.clock.Now()}
	cp, _ := r.j.Capture(ctx, raw)
	call, _ := gatewaytest.Parser{}.Parse(raw)
	ch, _ := gatewaytest.Rater{}.Rate(call)
	for _, c := range []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}, {To: gateway.StateSent},
		{To: gateway.StateResolving, Reason: "the PMS's answer was lost (test)"},
		{To: gateway.StateResolving, Reason: "looking up reference R failed (try 1 of 3: test)"},
		{To: gateway.StateResolving, Reason: "looking up reference R failed (try 2 of 3: test)"}} {
		if _, err := r.j.Move(ctx, cp.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	r.pms.FailLookups(100)
	r.run()
	en := r.advanceUntil(cp.ID, gateway.StateInDoubt, 10*time.Second)
	if n := len(r.pms.Lookups()); n != 1 {
		t.Errorf("%d lookups by this run, want 1:\n%s", n, reasons(en))
	}
	if h := reasons(en); !strings.Contains(h, "failed 3 times") {
		t.Errorf("history:\n%s", h)
	}
	if n := len(r.pms.Posted()); n != 0 {
		t.Errorf("sent %d times, want never", n)
	}
}

// An idempotent PMS that never answers: resent until ResolveLimit after the
// first sending (the key's age), then in doubt.
func TestEngineIdempotentPastTheKeysLimitIsInDoubt(t *testing.T) {
	r := capRig(t, gateway.CapabilityIdempotent, func(e *gateway.Engine) { e.ResolveLimit = 2 * time.Minute }).run()
	for range 50 {
		r.pms.Answer(gatewaytest.Reply{Timeout: true})
	}
	id := r.send("out 101 4416 60")
	en := r.advanceUntil(id, gateway.StateInDoubt, 5*time.Second)
	if h := reasons(en); !strings.Contains(h, "no definite answer for key") || !strings.Contains(h, "within 2m0s of its first sending") {
		t.Errorf("history:\n%s", h)
	}
	// Every sending within the key's limit of the first, as the journal
	// dates them.
	var first time.Time
	sends := 0
	for _, h := range en.History {
		if h.To != gateway.StateSent {
			continue
		}
		sends++
		if first.IsZero() {
			first = h.Time
		} else if d := h.Time.Sub(first); d > 2*time.Minute {
			t.Errorf("sent again %s after the first sending", d)
		}
	}
	if sends < 3 || sends != len(r.pms.Posted()) {
		t.Errorf("%d sendings journaled, %d made", sends, len(r.pms.Posted()))
	}
}

// A posting being resolved holds the queue: the call behind it (another
// room) is sent only once the first is settled, and in call order.
func TestEngineResolvingHoldsTheQueue(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup).run()
	r.pms.Answer(gatewaytest.Reply{Timeout: true})
	a := r.send("out 101 4416 60")
	r.await(a, gateway.StateResolving)
	b := r.send("out 103 4416 70")
	r.await(b, gateway.StateQueued)
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no grace period")
	}
	r.clock.Advance(29 * time.Second) // polls and ticks, inside the grace
	if p := r.pms.Posted(); len(p) != 1 {
		t.Fatalf("%d sent while the first posting is resolved", len(p))
	}
	r.clock.Advance(time.Second)
	r.await(a, gateway.StatePosted)
	r.advanceUntil(b, gateway.StatePosted, 2*time.Second)
	p := r.pms.Posted()
	if len(p) != 3 || p[0].Room != "101" || p[1].Room != "101" || p[2].Room != "103" {
		t.Errorf("sent %+v, want 101, 101 again, then 103", p)
	}
}

// Postings left sent or resolving by a gateway that stopped are resolved at
// the next start by the link's capability: looked up (found: posted; absent:
// sent again), or sent again with the same key; on a blind link, a posting
// left resolving is in doubt.
func TestEngineResolvesWhatTheLastRunLeft(t *testing.T) {
	for _, tc := range []struct {
		name      string
		c         gateway.PostCapability
		resolving bool // left resolving, not sent
		applied   bool // the PMS booked it before the stop
		sends     int  // sendings by this run
	}{
		{"lookup, sent, applied", gateway.CapabilityLookup, false, true, 0},
		{"lookup, sent, not applied", gateway.CapabilityLookup, false, false, 1},
		{"lookup, resolving, applied", gateway.CapabilityLookup, true, true, 0},
		{"idempotent, sent, applied", gateway.CapabilityIdempotent, false, true, 1},
		{"idempotent, resolving, not applied", gateway.CapabilityIdempotent, true, false, 1},
		{"blind, resolving", gateway.CapabilityBlind, true, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := capRig(t, tc.c)
			ctx := r.ctx
			raw := gateway.RawRecord{Data: []byte("out 101 4416 10"), Received: r.clock.Now()}
			cp, _ := r.j.Capture(ctx, raw)
			call, _ := gatewaytest.Parser{}.Parse(raw)
			ch, _ := gatewaytest.Rater{}.Rate(call)
			moves := []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}, {To: gateway.StateSent}}
			if tc.resolving {
				moves = append(moves, gateway.Change{To: gateway.StateResolving, Reason: "the PMS's answer was lost (test)"})
			}
			var en gateway.Entry
			for _, c := range moves {
				var err error
				if en, err = r.j.Move(ctx, cp.ID, c); err != nil {
					t.Fatal(err)
				}
			}
			ref := r.reference(en)
			if tc.applied { // what the last run sent, booked by the PMS
				r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
				if res, _ := r.pms.Post(ctx, gateway.PostRequest{Number: en.Posting, Room: "101", AmountMinor: ch.TotalMinor, Currency: ch.Currency,
					Start: call.Start, DurationS: 10, Reference: ref}); res.Outcome != gateway.PostInDoubt {
					t.Fatalf("booking before the run: %+v", res)
				}
			}
			before := len(r.pms.Posted())
			r.run()
			want := gateway.StatePosted
			if tc.c == gateway.CapabilityBlind {
				want = gateway.StateInDoubt
			}
			got := r.advanceUntil(cp.ID, want, 10*time.Second)
			p := r.pms.Posted()[before:]
			if len(p) != tc.sends {
				t.Errorf("sent %d times by this run, want %d:\n%s", len(p), tc.sends, reasons(got))
			}
			for _, q := range p {
				if q.Reference != ref || q.Number != en.Posting || !q.FirstSent.Equal(en.Sent) {
					t.Errorf("sent %+v, want reference %s, posting %d, first sent %s", q, ref, en.Posting, en.Sent)
				}
			}
			if tc.c != gateway.CapabilityBlind && r.pms.Charges(ref) != 1 {
				t.Errorf("%d charges with %s, want 1", r.pms.Charges(ref), ref)
			}
			if h := reasons(got); !tc.resolving && !strings.Contains(h, "sent→resolving: the PMS's answer was lost (the gateway stopped") {
				t.Errorf("history:\n%s", h)
			}
		})
	}
}

// A journal file put back from a backup starts a new epoch, but a posting
// sent before — booked by a lookup PMS whose answer was lost — keeps the
// reference it was sent with: the next run looks it up under that
// reference, finds it, and never sends it again. A posting numbered after
// the restore names the new epoch.
func TestEngineRestoredPostingKeepsItsReference(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup)
	ctx := r.ctx
	raw := gateway.RawRecord{Data: []byte("out 101 4416 10"), Received: r.clock.Now()}
	cp, _ := r.j.Capture(ctx, raw)
	call, _ := gatewaytest.Parser{}.Parse(raw)
	ch, _ := gatewaytest.Rater{}.Rate(call)
	var en gateway.Entry
	for _, c := range []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}, {To: gateway.StateSent}} {
		var err error
		if en, err = r.j.Move(ctx, cp.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	old := r.reference(en)
	r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
	if res, _ := r.pms.Post(ctx, gateway.PostRequest{Number: en.Posting, Room: "101", AmountMinor: ch.TotalMinor, Currency: ch.Currency,
		Start: call.Start, DurationS: 10, Reference: old}); res.Outcome != gateway.PostInDoubt {
		t.Fatalf("booking before the restore: %+v", res)
	}
	r.j.ReplaceFile()
	if r.reference(en) == old {
		t.Fatal("the journal's epoch did not change")
	}
	r.run()
	got := r.advanceUntil(cp.ID, gateway.StatePosted, 10*time.Second)
	if n := len(r.pms.Posted()); n != 1 {
		t.Errorf("sent %d times in all, want once (before the restore):\n%s", n, reasons(got))
	}
	if l := r.pms.Lookups(); len(l) != 1 || l[0].Reference != old {
		t.Errorf("lookups %+v, want one for %s", l, old)
	}
	if r.pms.Charges(old) != 1 {
		t.Errorf("%d charges with %s, want 1", r.pms.Charges(old), old)
	}
	// A call after the restore: its posting names the new epoch.
	r.send("out 103 4416 70")
	next := r.advanceUntil(cp.ID+1, gateway.StatePosted, 10*time.Second) // the rig counts from its own sends
	p := r.pms.Posted()
	if info, _ := r.j.Info(ctx); len(p) != 2 || p[1].Reference != gateway.PostingReference("Grand Hotel", info.Epoch, next.ID, next.Posting) {
		t.Errorf("sent %+v, want the new call under epoch %s", p, info.Epoch)
	}
}

// A cloud PMS that finds no guest in the room just before posting
// (PostVacant): the "room vacant" exception, or refused when the policy
// posts to vacant rooms.
func TestEnginePostVacantIsTheVacantException(t *testing.T) {
	for _, toVacant := range []bool{false, true} {
		r := capRig(t, gateway.CapabilityIdempotent, func(e *gateway.Engine) { e.PostToVacant = toVacant }).run()
		r.pms.Answer(gatewaytest.Reply{Vacant: true})
		id := r.send("out 101 4416 60")
		want := gateway.StateException
		if toVacant {
			want = gateway.StateRefused
		}
		en := r.await(id, want)
		if h := reasons(en); !strings.Contains(h, "vacant") && !strings.Contains(h, "no guest in room 101") {
			t.Errorf("post_to_vacant %v: history\n%s", toVacant, h)
		}
		r.stop()
	}
}

// TestEnginePostInvalidIsAnException: a posting the link cannot write for
// its PMS (a class missing from a cloud PMS's map) is an exception naming
// the key to add, as PostInvalid's contract says — not a refusal by the PMS.
func TestEnginePostInvalidIsAnException(t *testing.T) {
	r := capRig(t, gateway.CapabilityLookup).run()
	defer r.stop()
	r.pms.Answer(gatewaytest.Reply{Invalid: true, Text: "the call's class premium has no transaction code: add pms.charge.transaction_codes.premium"})
	id := r.send("out 101 4416 60")
	en := r.await(id, gateway.StateException)
	if h := reasons(en); !strings.Contains(h, "pms.charge.transaction_codes.premium") {
		t.Errorf("history\n%s", h)
	}
}

// The link down while a posting is resolved: a lookup PMS is asked once the
// link is back, however long it was down (the gateway gives up only right
// after a try); an idempotent PMS is not sent a key older than
// ResolveLimit (in doubt, never sent again).
func TestEngineResolvingAcrossALinkDown(t *testing.T) {
	for _, c := range []gateway.PostCapability{gateway.CapabilityLookup, gateway.CapabilityIdempotent} {
		t.Run(string(c), func(t *testing.T) {
			r := capRig(t, c, func(e *gateway.Engine) { e.ResolveLimit = time.Minute }).run()
			r.pms.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
			id := r.send("out 101 4416 60")
			r.await(id, gateway.StateResolving)
			if !r.clock.WaitFor(r.ctx, 1) { // the grace period, or the wait before the resend
				t.Fatal("the resolving does not wait")
			}
			r.pms.SetState(gateway.LinkDown)
			for range 60 {
				r.clock.Advance(10 * time.Second)
			}
			if n := len(r.pms.Lookups()) + len(r.pms.Posted()); n != 1 {
				t.Fatalf("%d lookups and sendings while the link was down", n-1)
			}
			r.pms.SetState(gateway.LinkAlive)
			if c == gateway.CapabilityLookup {
				en := r.await(id, gateway.StatePosted)
				if len(r.pms.Lookups()) != 1 || !strings.Contains(reasons(en), "looked up: the PMS holds reference") {
					t.Errorf("%d lookups:\n%s", len(r.pms.Lookups()), reasons(en))
				}
				return
			}
			en := r.await(id, gateway.StateInDoubt)
			if len(r.pms.Posted()) != 1 || !strings.Contains(reasons(en), "within 1m0s of its first sending") {
				t.Errorf("sent %d times:\n%s", len(r.pms.Posted()), reasons(en))
			}
		})
	}
}

// BenchmarkPostingReference is the cost the reference adds to every
// posting (PostRequest.Reference is set on each Post).
func BenchmarkPostingReference(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		_ = gateway.PostingReference("Grand Hotel", "3f2a9c1d-7b4e-4c2a-9d1e-0a1b2c3d4e5f", gateway.EntryID(1_000_000+i), uint32(i%99_999_999)+1)
	}
}
