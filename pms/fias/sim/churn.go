package sim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// Churner checks a guest out and another in now and then, so that a demo's
// postings follow the guests.
type Churner struct {
	sim   *Sim
	rooms []string
	rng   *rand.Rand
	log   zerolog.Logger
}

// Churner returns a churner over rooms; the rooms it picks are a function of
// seed.
func (s *Sim) Churner(rooms []string, seed uint64, log zerolog.Logger) *Churner {
	return &Churner{sim: s, rooms: rooms, rng: rand.New(rand.NewPCG(seed, 7)), log: log}
}

// Run takes a Step at each tick until ctx ends.
func (c *Churner) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		c.Step()
	}
}

// Step picks a room: its guest checks out, or, vacant, a guest checks in.
func (c *Churner) Step() {
	room := c.rooms[c.rng.IntN(len(c.rooms))]
	if gs := c.sim.Guests(room); len(gs) > 0 {
		if err := c.sim.CheckOut(gs[0].Reservation); err == nil {
			c.log.Info().Str("room", room).Msg("demo: a guest checked out")
		}
		return
	}
	if _, err := c.sim.CheckIn(gateway.Guest{Room: room, LastName: churnNames[c.rng.IntN(len(churnNames))], Language: "EA"}); err == nil {
		c.log.Info().Str("room", room).Msg("demo: a guest checked in")
	}
}

var churnNames = []string{"Hartley", "Okafor", "Lindqvist", "Moreau", "Tanaka", "García", "Novak", "Fitzgerald", "Rossi", "Haddad"}
