package main

import (
	"context"
	"time"

	"callgate/gateway/console"
	"callgate/gateway/report"
	"callgate/store/postgres"
	"callgate/tariff"
)

// chainStore is the central's PostgreSQL as the chain console reads it
// (console.Chain): the console knows no store, the store no console.
type chainStore struct{ s *postgres.Store }

func (c chainStore) ChainUser(ctx context.Context, name string) (console.ChainUser, error) {
	u, err := c.s.User(ctx, name)
	if err != nil {
		return console.ChainUser{}, err
	}
	return console.ChainUser{User: u.User, Properties: u.Properties}, nil
}

func (c chainStore) ChainProperties(ctx context.Context, names []string) ([]console.ChainProperty, error) {
	ps, err := c.s.PropertiesOf(ctx, names)
	if err != nil {
		return nil, err
	}
	out := make([]console.ChainProperty, len(ps))
	for i, p := range ps {
		out[i] = console.ChainProperty{Name: p.Name, Disabled: p.Disabled, Site: p.Site, Epoch: p.Epoch, Cursor: p.Cursor, Received: p.Received}
	}
	return out, nil
}

func (c chainStore) ChainToday(ctx context.Context, names []string, now time.Time) ([]console.ChainDayTotal, error) {
	ds, err := c.s.Today(ctx, names, now)
	if err != nil {
		return nil, err
	}
	out := make([]console.ChainDayTotal, len(ds))
	for i, d := range ds {
		out[i] = console.ChainDayTotal(d)
	}
	return out, nil
}

func (c chainStore) ChainCalls(ctx context.Context, f console.ChainFilter) ([]console.ChainEntry, error) {
	es, err := c.s.Calls(ctx, postgres.CallFilter(f))
	return chainEntries(es), err
}

func (c chainStore) ChainEach(ctx context.Context, sc console.ChainScan, fn func([]console.ChainEntry) error) error {
	var buf []console.ChainEntry
	return c.s.EachEntry(ctx, postgres.EntryScan(sc), func(es []postgres.CentralEntry) error {
		return fn(chainPage(&buf, es))
	})
}

func (c chainStore) ChainExport(ctx context.Context, f console.ChainFilter, page int, count func(int64) error, fn func([]console.ChainEntry) error) error {
	var buf []console.ChainEntry
	return c.s.EachCall(ctx, postgres.CallFilter(f), page, count, func(es []postgres.CentralEntry) error {
		return fn(chainPage(&buf, es))
	})
}

// chainPage copies a page of the store's entries into buf, reused from
// page to page.
func chainPage(buf *[]console.ChainEntry, es []postgres.CentralEntry) []console.ChainEntry {
	clear(*buf)
	*buf = (*buf)[:0]
	for _, e := range es {
		*buf = append(*buf, console.ChainEntry(e))
	}
	return *buf
}

func (c chainStore) ChainSums(ctx context.Context, names []string, key string, from, to time.Time) ([]report.KeySum, error) {
	ss, err := c.s.Sums(ctx, names, key, from, to)
	out := make([]report.KeySum, len(ss))
	for i, s := range ss {
		out[i] = report.KeySum(s)
	}
	return out, err
}

func chainEntries(es []postgres.CentralEntry) []console.ChainEntry {
	out := make([]console.ChainEntry, len(es))
	for i, e := range es {
		out[i] = console.ChainEntry(e)
	}
	return out
}

func (c chainStore) ChainTraffic(ctx context.Context, names []string, from, to time.Time) (report.Hourly, error) {
	ht, err := c.s.Traffic(ctx, names, from, to)
	return report.Hourly{Calls: ht.Calls, Secs: ht.Secs}, err
}

// newChainConsole builds the chain console over the central's store.
func newChainConsole(a *app, s *postgres.Store, c *CentralFile) (*console.Server, error) {
	return console.NewChain(console.ChainOptions{
		Chain:       chainStore{s},
		MaskDigits:  c.Console.MaskDigits,
		MinorDigits: tariff.MinorDigits,
		TLS:         c.Console.TLSCert != "",
		Logger:      a.log.With().Str("component", "chain-console").Logger(),
		// Reports and exports hold a connection while they read: at most
		// half the pool, so that ingest always finds one (docs/central.md,
		// "Connections").
		Concurrent: max(1, s.PoolSize()/2),
	})
}
