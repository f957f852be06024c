package tariff

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// Reloading is the tariff in force, a gateway.Rater that the engine rates
// through: Reload (on a signal, from the console) and Watch (when the file
// changes) load the file again. A bad new file is refused with every problem
// logged, and the old tariff stays.
type Reloading struct {
	path    string
	log     zerolog.Logger
	current atomic.Pointer[Tariff]
	mu      sync.Mutex // one reload at a time (the watcher, the console); guards stamp
	stamp   fileStamp
	// OnChange is called after a new tariff took over (for the audit log).
	OnChange func(path string)
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func statStamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// LoadReloading loads path for the first time: an error stops the start.
func LoadReloading(path string, log zerolog.Logger) (*Reloading, error) {
	t, err := Load(path)
	if err != nil {
		return nil, err
	}
	r := &Reloading{path: path, log: log}
	r.current.Store(t)
	r.stamp, _ = statStamp(path)
	return r, nil
}

// Rate prices c with the tariff in force.
func (r *Reloading) Rate(c gateway.Call) (gateway.Charge, error) {
	return r.current.Load().Rate(c)
}

// Reload loads the file again and, if it is good, makes it the tariff in
// force. It reports whether the tariff changed.
func (r *Reloading) Reload() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, _ := statStamp(r.path)
	t, err := Load(r.path)
	r.stamp = stamp
	var problems Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			r.log.Error().Str("tariff", r.path).Str("problem", p.String()).Msg("new tariff refused")
		}
		r.log.Error().Str("tariff", r.path).Int("problems", len(problems)).Msg("the tariff in force stays until the file is fixed")
		return false
	case err != nil:
		r.log.Error().Err(err).Str("tariff", r.path).Msg("cannot read the new tariff: the tariff in force stays")
		return false
	}
	r.current.Store(t)
	r.log.Info().Str("tariff", r.path).Str("currency", t.Currency).Msg("tariff reloaded")
	if r.OnChange != nil {
		r.OnChange(r.path)
	}
	return true
}

// Watch reloads on each signal from reload (the caller wires SIGHUP to it)
// and when the file's time or size changes (checked every poll), until ctx
// ends.
func (r *Reloading) Watch(ctx context.Context, poll time.Duration, reload <-chan os.Signal) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-reload:
			r.log.Info().Str("tariff", r.path).Stringer("signal", sig).Msg("signal: reloading the tariff")
			r.Reload()
		case <-tick.C:
			if r.changed() {
				r.Reload()
			}
		}
	}
}

// Summary describes the tariff in force.
func (r *Reloading) Summary() string { return r.current.Load().Summary() }

// Destinations lists the destinations of the tariff in force.
func (r *Reloading) Destinations(at time.Time) []gateway.TariffDestination {
	return r.current.Load().Destinations(at)
}

// changed reports whether the file's time or size differs from the last
// load's.
func (r *Reloading) changed() bool {
	s, err := statStamp(r.path)
	r.mu.Lock()
	defer r.mu.Unlock()
	return err == nil && s != r.stamp
}
