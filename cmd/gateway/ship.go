package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/internal/buildinfo"
	"callgate/store"
)

// The property's shipper in gateway serve (docs/central.md, "The
// property's side"): the central section of the config, a client and the
// shipper's loop beside the engine.

// CentralConfig is the central section of a property's config.
type CentralConfig = ship.Config

// newShipper returns the shipper of c's central section, nil without one.
func newShipper(c *Config, j *store.Journal, eng *gateway.Engine, log zerolog.Logger) (*ship.Shipper, error) {
	if !c.Central.Enabled() {
		return nil, nil
	}
	client, err := ship.NewClient(c.Central.ClientConfig(c.Resolve))
	if err != nil {
		return nil, err
	}
	v, _ := buildinfo.Version(version, commit)
	s := &ship.Shipper{Sink: client, Journal: j, Queries: j, BatchMax: c.Central.BatchMax, GuestNames: c.Central.ShipGuestNames,
		Logger: log.With().Str("central", c.Central.Property).Logger(),
		Site: func() gateway.SiteSnapshot {
			st := eng.Status()
			sn := gateway.SiteSnapshot{Name: c.Site.Name, Timezone: c.Site.Timezone, At: time.Now().UTC(), Link: st.PMS.State, Version: v}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if n, err := j.Counts(ctx); err == nil {
				sn.Queued, sn.InDoubt = n.States[gateway.StateQueued], n.States[gateway.StateInDoubt]
			}
			return sn
		}}
	return s, nil
}

// runShipper runs g's shipper (if any) until ctx ends; the returned
// function waits for it to stop.
func (g *gatewayRun) runShipper(ctx context.Context) (wait func()) {
	if g.shipper == nil {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer g.shipper.Sink.(*ship.Client).Close()
		if err := g.shipper.Run(ctx); err != nil {
			g.log.Error().Err(err).Msg("the shipper to the central did not start")
		}
	}()
	return wg.Wait
}

// pruneHeldText says what the prune guard kept (docs/central.md, "Prune
// guard").
func pruneHeldText(p gateway.Pruned) string {
	if p.HeldEntries == 0 {
		return fmt.Sprintf("central: the central holds this journal's events up to %d; no closed entry waits for it", p.ShipCursor)
	}
	return fmt.Sprintf("central: kept %d closed entries (%d events) the central has not acknowledged yet (it holds events up to %d): they are pruned once shipped", p.HeldEntries, p.HeldEvents, p.ShipCursor)
}

// shipStatus is the shipper's status for the console and metrics; ok is
// false without a central.
func (g *gatewayRun) shipStatus() (ship.ShipStatus, bool) {
	if g.shipper == nil {
		return ship.ShipStatus{}, false
	}
	return g.shipper.Status(), true
}
