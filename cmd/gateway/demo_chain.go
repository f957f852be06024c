package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/internal/pgcluster"
	"callgate/store/postgres"
)

// runChainDemo is `gateway demo --sites N` (docs/central.md, "Demo"): a
// throwaway PostgreSQL cluster, a central serving the ingest protocol in
// this process, and N demo properties, each shipping its journal to the
// central. Ctrl-C stops everything and removes the cluster.
func runChainDemo(ctx context.Context, a *app, o demoOptions, n int) error {
	log := a.log
	keep, cleanup, err := demoDir(&o)
	if err != nil {
		return err
	}
	defer cleanup()

	cluster, err := pgcluster.Start("", pgcluster.Options{})
	if errors.Is(err, pgcluster.ErrMissing) {
		return fmt.Errorf("gateway demo --sites %d runs a throwaway PostgreSQL, and its server programs (initdb, pg_ctl) are not on this machine: "+
			"apt-get install postgresql, then run the demo again (gateway demo without --sites needs no PostgreSQL)", n)
	}
	if err != nil {
		return fmt.Errorf("the demo's PostgreSQL did not start: %w", err)
	}
	defer func() {
		if err := cluster.Close(); err != nil {
			log.Warn().Err(err).Str("folder", cluster.Dir).Msg("the demo's PostgreSQL did not stop cleanly")
		}
	}()
	dsn := cluster.DSN("postgres")
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	st, err := postgres.Open(octx, dsn, log)
	cancel()
	if err != nil {
		return fmt.Errorf("the demo's central could not open its PostgreSQL: %w", err)
	}
	defer st.Close()

	// The central: the ingest protocol on a loopback port, in this process.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ingest := "http://" + ln.Addr().String()
	centralCfg := filepath.Join(o.dir, "central.yaml")
	if err := os.WriteFile(centralCfg, []byte(fmt.Sprintf("# Written by gateway demo --sites: the demo's central.\ncentral:\n  listen: %s\n  postgres: %q\n",
		ln.Addr(), dsn)), 0o600); err != nil {
		ln.Close()
		return err
	}
	// The chain console beside it, as central serve runs it.
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return err
	}
	cons, err := newChainConsole(a, st, &CentralFile{})
	if err != nil {
		ln.Close()
		cln.Close()
		return err
	}
	cctx, stopCentral := context.WithCancel(context.WithoutCancel(ctx))
	centralDone := make(chan error, 1)
	go func() {
		centralDone <- serveCentralAndConsole(cctx, a, ingestServer(a, st), ln, console.HTTPServer(cons, nil), cln, cons.Close)
	}()
	defer func() { stopCentral(); <-centralDone }()

	// The properties, each in a folder of its own, each with its token.
	var sites []*demoSite
	defer func() {
		for _, s := range sites {
			s.close()
		}
	}()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("hotel-%d", i+1)
		dir := filepath.Join(o.dir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tok, err := st.AddProperty(ctx, name)
		if err != nil {
			return fmt.Errorf("the demo's property %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "central.token"), []byte(tok+"\n"), 0o600); err != nil {
			return err
		}
		listen := "127.0.0.1:0"
		if i == 0 {
			listen = o.listen
		}
		so := o
		so.seed = o.seed + uint64(i)
		extra := fmt.Sprintf("central: {url: %q, property: %s, token_file: central.token}\n", ingest, name)
		s, err := startDemoSite(ctx, a, so, name, dir, listen, extra)
		if err != nil {
			for _, s := range sites {
				s.g.closeAll()
			}
			return fmt.Errorf("the demo's property %s: %w", name, err)
		}
		sites = append(sites, s)
	}
	login, err := chainConsoleLogin(ctx, st, "http://"+cln.Addr().String()+"/")
	if err != nil {
		for _, s := range sites {
			s.g.closeAll()
		}
		return err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\ncallgate demo — a chain of %d hotels (60 rooms each), %s SMDR at %g calls a minute each, shipping to one central\n", n, o.format, o.rate)
	for _, s := range sites {
		fmt.Fprintf(&b, "  %-9s console http://%s/  log in as demo, password %s   config %s\n", s.name+":", s.g.ln.Addr(), s.password, s.cfgPath)
	}
	fmt.Fprintf(&b, "  central:   ingest %s   config %s\n", ingest, centralCfg)
	fmt.Fprintf(&b, "  PostgreSQL: a throwaway cluster in %s (removed at the end)\n", cluster.Dir)
	fmt.Fprintf(&b, "  SQL:       %s\n", dsn)
	fmt.Fprintf(&b, "             psql '%s' -c 'SELECT property, state, count(*), sum(total_minor) FROM callgate.calls GROUP BY 1, 2'\n", dsn)
	fmt.Fprintf(&b, "  %s\n", login)
	b.WriteString("Ctrl-C stops the demo.\n\n")
	fmt.Fprint(a.stderr, b.String())

	errs := make([]error, len(sites))
	var wg sync.WaitGroup
	for i, s := range sites {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.run(ctx, a) }()
	}
	wg.Wait()
	fmt.Fprintln(a.stderr, "\ndemo over:")
	for _, s := range sites {
		fmt.Fprintf(a.stderr, "  %s: %s\n", s.name, s.summary())
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ps, err := st.Properties(qctx); err == nil {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "  the central holds %s's events up to %d (epoch %s)\n", p.Name, p.Cursor, dash(p.Epoch))
		}
	}
	if keep {
		fmt.Fprintf(a.stderr, "the properties' journals stay in %s; the PostgreSQL cluster is removed\n", o.dir)
	}
	return errors.Join(errs...)
}

// chainConsoleLogin makes the chain console's one-time user "demo" (an
// admin seeing every property) in the central's PostgreSQL and returns the
// line the demo prints about it.
func chainConsoleLogin(ctx context.Context, st *postgres.Store, url string) (string, error) {
	password := console.RandomPassword()
	hash, err := console.HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := st.AddUser(ctx, postgres.User{User: gateway.User{Name: "demo", Role: "admin", PasswordHash: hash}}); err != nil {
		return "", fmt.Errorf("the demo's chain console user: %w", err)
	}
	return fmt.Sprintf("chain console %s  log in as demo, password %s (this run only): every hotel, its reports and calls", url, password), nil
}
