package mews_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

// driver plays the engine's rule for a lookup PMS (docs/posting-safety.md)
// until the engine's own lands: a transient outcome is sent again; an
// in-doubt one is looked up by its reference: found is posted, absent is
// sent again with the same reference; a lookup that fails is asked again.
type driver struct {
	t                                         *testing.T
	l                                         *mews.Link
	posted, transient, inDoubt, found, absent int
	lookupErrs                                int
}

func (d *driver) post(ctx context.Context, p gateway.PostRequest) {
	d.t.Helper()
	for try := 0; try < 100; try++ {
		if err := d.l.WaitReady(ctx); err != nil {
			d.t.Fatalf("posting %d: the link never got ready: %v (%+v)", p.Number, err, d.l.Status())
		}
		if p.FirstSent.IsZero() {
			p.FirstSent = time.Now()
		}
		res, err := d.l.Post(ctx, p)
		switch res.Outcome {
		case gateway.PostPosted:
			d.posted++
			return
		case gateway.PostTransient:
			d.transient++
			continue
		case gateway.PostInDoubt:
			d.inDoubt++
			if d.lookup(ctx, p) {
				return
			}
		default:
			d.t.Fatalf("posting %d: %+v %v", p.Number, res, err)
		}
	}
	d.t.Fatalf("posting %d: no definite outcome in 100 tries", p.Number)
}

// lookup asks until Mews answers, and reports whether the posting is there.
func (d *driver) lookup(ctx context.Context, p gateway.PostRequest) bool {
	d.t.Helper()
	for try := 0; try < 50; try++ {
		r, err := d.l.Lookup(ctx, p)
		if err != nil {
			if !gateway.IsKind(err, gateway.KindTransient) {
				d.t.Fatalf("lookup of %s: %v", p.Reference, err)
			}
			d.lookupErrs++
			continue
		}
		if r.Found {
			d.found++
		} else {
			d.absent++
		}
		return r.Found
	}
	d.t.Fatalf("lookup of %s: no answer in 50 tries", p.Reference)
	return false
}

// TestFaults200 posts 200 calls while every fifth answer of orders/add is
// lost (alternately after Mews booked the charge and before), a 429 storm
// blows, and the access token is replaced mid-run: with the engine's
// lookup rule, every charge is in Mews's ledger exactly once, under its
// own reference.
func TestFaults200(t *testing.T) {
	s := startSim(t, sim.Options{})
	rooms := []string{"101", "102", "103", "104", "105", "106", "107", "108", "109", "110"}
	if err := s.Occupy(rooms...); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(t, s)
	o.AnswerTimeout = time.Second
	o.PollInterval = 300 * time.Millisecond
	l := openLink(t, o)
	drainEvents(l)
	ready(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	s.SetFaults(sim.Faults{LoseEvery: 5})
	d := &driver{t: t, l: l}
	classes := []string{"international", "national", "local", "mobile"}
	want := map[string]gateway.PostRequest{}
	for i := uint32(1); i <= 200; i++ {
		switch i {
		case 60:
			s.SetFaults(sim.Faults{LoseEvery: 5, Storm: 5, StormRetryAfter: time.Second})
		case 120:
			// The hotel replaces the access token: Mews refuses the old
			// one; the new one is in the file.
			s.RotateAccessToken("D1D4298010F54B069F3DAD20015D53EA-D5561FADFBA4EFC8EA4C179C6BC4620")
			if err := os.WriteFile(o.Config.Auth.AccessTokenFile, []byte("D1D4298010F54B069F3DAD20015D53EA-D5561FADFBA4EFC8EA4C179C6BC4620\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		p := request(i, rooms[int(i)%len(rooms)], classes[int(i)%len(classes)], int64(100+i))
		p.Reference = fmt.Sprintf("FT-%d", i)
		want[p.Reference] = p
		d.post(ctx, p)
	}

	seen := map[string]int{}
	for _, c := range s.Ledger() {
		seen[c.Reference]++
		p, ok := want[c.Reference]
		switch {
		case !ok:
			t.Errorf("a charge the test never posted: %+v", c)
		case c.AmountMinor != p.AmountMinor || c.Room != p.Room || c.Currency != "EUR":
			t.Errorf("charge %s: %d %s in room %s, want %d in room %s", c.Reference, c.AmountMinor, c.Currency, c.Room, p.AmountMinor, p.Room)
		case c.AccountingCategoryID != sim.DefaultAccountingCategories[p.Class]:
			t.Errorf("charge %s: accounting category %s, want the %s one", c.Reference, c.AccountingCategoryID, p.Class)
		}
	}
	for ref := range want {
		if seen[ref] != 1 {
			t.Errorf("reference %s is in the ledger %d times, want once", ref, seen[ref])
		}
	}
	t.Logf("posted %d, transient %d, in doubt %d (found %d, absent %d), lookup errors %d, requests received %d",
		d.posted, d.transient, d.inDoubt, d.found, d.absent, d.lookupErrs, s.Received())
	// The faults must have happened, or the test proves nothing.
	if d.found < 15 || d.absent < 15 {
		t.Errorf("lost answers: %d found and %d absent by lookup, want about 20 each", d.found, d.absent)
	}
	if s.Unauthorized() == 0 {
		t.Error("the replaced access token was never refused")
	}
	if d.transient == 0 {
		t.Error("the 429 storm never reached a posting")
	}
	if st := l.Status(); st.State != gateway.LinkAlive {
		t.Errorf("the link after the run: %+v", st)
	}
}
