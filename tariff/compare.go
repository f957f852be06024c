package tariff

import (
	"sort"

	"callgate/gateway"
)

// Totals sums the charges of a group of calls.
type Totals struct {
	Calls        int   `json:"calls"`      // calls in the group
	Chargeable   int   `json:"chargeable"` // of which chargeable
	Exceptions   int   `json:"exceptions"` // of which rating exceptions
	BillableS    int64 `json:"billable_s"`
	CarrierMinor int64 `json:"carrier_minor"`
	TotalMinor   int64 `json:"total_minor"` // what guests pay
}

func (t *Totals) add(c gateway.Charge) {
	t.Calls++
	if c.Chargeable {
		t.Chargeable++
	}
	if c.Exception != nil {
		t.Exceptions++
	}
	t.BillableS += int64(c.BillableS)
	t.CarrierMinor += c.CarrierMinor
	t.TotalMinor += c.TotalMinor
}

// Rated is one call priced under two tariffs: the one it was (or would be)
// charged by and another (a carrier's new deck, a corrected tariff).
type Rated struct {
	Call gateway.Call
	A, B gateway.Charge
	// Err is set when a tariff could not price the call at all.
	Err error
}

// Group is the totals of one class or destination under both tariffs.
type Group struct {
	Key  string `json:"key"`
	A, B Totals
}

// Comparison is the result of rating the same calls under two tariffs.
type Comparison struct {
	Calls         []Rated
	Total         Group   // every call
	ByClass       []Group // sorted by key
	ByDestination []Group // by destination name under A ("" for none), sorted by key
}

// Compare rates calls under tariffs a and b — the base of carrier comparison
// (which deck would have cost less) and of re-rating (what a corrected tariff
// would have charged). Calls either tariff cannot price are kept with Err set
// and left out of the totals.
func Compare(calls []gateway.Call, a, b *Tariff) Comparison {
	cmp := Comparison{Calls: make([]Rated, len(calls)), Total: Group{Key: "all"}}
	classes := map[string]*Group{}
	dests := map[string]*Group{}
	group := func(m map[string]*Group, key string) *Group {
		g, ok := m[key]
		if !ok {
			g = &Group{Key: key}
			m[key] = g
		}
		return g
	}
	for i, c := range calls {
		r := Rated{Call: c}
		var errA, errB error
		r.A, errA = a.Rate(c)
		r.B, errB = b.Rate(c)
		if errA != nil {
			r.Err = errA
		} else if errB != nil {
			r.Err = errB
		}
		cmp.Calls[i] = r
		if r.Err != nil {
			continue
		}
		for _, g := range []*Group{&cmp.Total, group(classes, r.A.Class), group(dests, r.A.Destination)} {
			g.A.add(r.A)
			g.B.add(r.B)
		}
	}
	cmp.ByClass = sorted(classes)
	cmp.ByDestination = sorted(dests)
	return cmp
}

func sorted(m map[string]*Group) []Group {
	gs := make([]Group, 0, len(m))
	for _, g := range m {
		gs = append(gs, *g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Key < gs[j].Key })
	return gs
}
