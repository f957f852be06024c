package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/ship"
	"callgate/store/postgres"
)

// centralCommand runs the central (docs/central.md): the ingest server,
// and the properties and users it keeps in PostgreSQL.
func centralCommand() *command {
	var path, role, props string
	register := func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", path, "the central's config file (required)")
		fs.StringVar(&role, "role", role, "user add: the role, one of "+strings.Join(console.Roles, ", "))
		fs.StringVar(&props, "properties", props, "user add: the properties the user may see, comma-separated (default: every property)")
	}
	return &command{
		name: "central",
		args: "serve | property add|list|disable NAME | user add NAME --role R [--properties A,B] | purge-guest-data",
		summary: "the central that every property's journal ships to, in PostgreSQL: serve it, add a property (its token is printed once, " +
			"alone on the last line), list or disable properties, add a chain console user, seal the guest data older shippers sent whole",
		flags: func(fs *flag.FlagSet, _ *app) { register(fs) },
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usageError{"central needs one of serve, property, user"}
			}
			fs := flag.NewFlagSet("gateway central", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			register(fs)
			var pos []string
			rest := args
			for {
				if err := fs.Parse(rest); err != nil {
					if errors.Is(err, flag.ErrHelp) {
						a.commandUsage(a.stdout, lookup("central"))
						return nil
					}
					return usageError{fmt.Sprintf("%s (see gateway central --help)", err)}
				}
				rest = fs.Args()
				if len(rest) == 0 {
					break
				}
				pos, rest = append(pos, rest[0]), rest[1:]
			}
			if path == "" {
				return usageError{"central needs --config FILE (the central's config: central.listen, central.postgres)"}
			}
			switch {
			case len(pos) == 1 && pos[0] == "serve":
				return centralServe(ctx, a, path)
			case len(pos) == 1 && pos[0] == "purge-guest-data":
				return centralPurgeGuestData(ctx, a, path)
			case len(pos) >= 2 && pos[0] == "property":
				return centralProperty(ctx, a, path, pos[1], pos[2:])
			case len(pos) >= 2 && pos[0] == "user" && pos[1] == "add":
				if len(pos) != 3 {
					return usageError{"central user add takes one user name (the password is never an argument)"}
				}
				return centralUserAdd(ctx, a, path, pos[2], role, props)
			}
			return usageError{fmt.Sprintf("unknown central command %q: one of serve, property add|list|disable NAME, user add NAME, purge-guest-data", strings.Join(pos, " "))}
		},
	}
}

// openCentral loads the config and opens the store (applying migrations).
func openCentral(ctx context.Context, a *app, path string) (*CentralFile, *postgres.Store, error) {
	c, err := LoadCentralConfig(path)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			return nil, nil, fmt.Errorf("%s: fix these first (gateway check --config %s):\n%v", path, path, ps)
		}
		return nil, nil, err
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := postgres.Open(octx, c.DSN(), a.log)
	if err != nil {
		return nil, nil, err
	}
	return c, s, nil
}

// centralPurgeGuestData seals the guest events the central holds whole
// with a guest's personal data, for the properties that ship no guest
// names (docs/central.md, "Guest data").
func centralPurgeGuestData(ctx context.Context, a *app, path string) error {
	_, s, err := openCentral(ctx, a, path)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.SealStoredGuestEvents(ctx, func(p string, n int64) {
		fmt.Fprintf(a.stdout, "property %s: %d guest events sealed\n", p, n)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%d guest events sealed: the central holds no guest's personal data in its events for the properties that ship no guest names\n", n)
	return nil
}

func centralProperty(ctx context.Context, a *app, path, sub string, names []string) error {
	want := 1
	if sub == "list" {
		want = 0
	}
	switch sub {
	case "add", "list", "disable":
	default:
		return usageError{fmt.Sprintf("unknown central property command %q: one of add, list, disable", sub)}
	}
	if len(names) != want {
		if want == 0 {
			return usageError{"central property list takes no name"}
		}
		return usageError{"central property " + sub + " takes one property name"}
	}
	_, s, err := openCentral(ctx, a, path)
	if err != nil {
		return err
	}
	defer s.Close()
	switch sub {
	case "add":
		tok, err := s.AddProperty(ctx, names[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "property %s added. Its token follows, alone on the last line: it is shown this once.\n", names[0])
		fmt.Fprintf(a.stdout, "Put it in the file the property's central.token_file names (mode 0600), and set central.property: %s there.\n", names[0])
		fmt.Fprintln(a.stdout, tok)
		return nil
	case "disable":
		if err := s.DisableProperty(ctx, names[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "property %s disabled: its batches are refused from now on; what it shipped stays\n", names[0])
		return nil
	}
	ps, err := s.Properties(ctx)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(a.stdout, "no properties yet: add one with gateway central property add NAME --config", path)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROPERTY\tSTATE\tSITE\tEPOCH\tCURSOR\tLAST RECEIVED (UTC)\tLINK")
	for _, p := range ps {
		state := "enabled"
		if p.Disabled {
			state = "disabled"
		}
		recv := "-"
		if !p.Received.IsZero() {
			recv = p.Received.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.Name, state, dash(p.Site.Name), dash(p.Epoch), p.Cursor, recv, dash(string(p.Site.Link)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func centralUserAdd(ctx context.Context, a *app, path, name, role, props string) error {
	if !console.ValidUserName(name) {
		return usageError{"a user name has 1 to 64 letters, digits, . _ - @"}
	}
	if !console.ValidRole(role) {
		return usageError{fmt.Sprintf("central user add needs --role, one of %s", strings.Join(console.Roles, ", "))}
	}
	var list []string
	for _, p := range strings.Split(props, ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(list, p)
		}
	}
	_, s, err := openCentral(ctx, a, path)
	if err != nil {
		return err
	}
	defer s.Close()
	// ReadNewPassword returns the password's bcrypt hash (hashing it again
	// would store a hash no password matches).
	hash, err := console.ReadNewPassword(a.stdin, a.stderr, name)
	if err != nil {
		return err
	}
	if err := s.AddUser(ctx, postgres.User{User: gateway.User{Name: name, Role: role, PasswordHash: hash}, Properties: list}); err != nil {
		return err
	}
	sees := "every property"
	if list != nil {
		sees = strings.Join(list, ", ")
	}
	fmt.Fprintf(a.stdout, "user %s added as %s, seeing %s\n", name, role, sees)
	return nil
}

// centralServe serves the ingest protocol until ctx ends.
func centralServe(ctx context.Context, a *app, path string) error {
	c, s, err := openCentral(ctx, a, path)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", c.Central.Listen)
	if err != nil {
		return fmt.Errorf("the central cannot listen on %s (central.listen): %w", c.Central.Listen, err)
	}
	srv := ingestServer(a, s)
	scheme := "http"
	if c.Central.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.Resolve(c.Central.TLSCert), c.Resolve(c.Central.TLSKey))
		if err != nil {
			ln.Close()
			return fmt.Errorf("central.tls_cert and central.tls_key cannot be loaded: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.Central.ClientCA != "" {
			pool, err := loadCAPool(c.Resolve(c.Central.ClientCA))
			if err != nil {
				ln.Close()
				return err
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		ln = tls.NewListener(ln, tc)
		scheme = "https"
	}
	// The chain console (docs/chain-console.md) on console.listen, with
	// the property console's HTTP limits and TLS settings.
	cln, err := net.Listen("tcp", c.Console.Listen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("the chain console cannot listen on %s (console.listen): %w", c.Console.Listen, err)
	}
	ctls, err := c.Console.TLSConfig(c.Resolve)
	if err != nil {
		ln.Close()
		cln.Close()
		return err
	}
	cons, err := newChainConsole(a, s, c)
	if err != nil {
		ln.Close()
		cln.Close()
		return err
	}
	csrv := console.HTTPServer(cons, ctls)
	cscheme := "http"
	if ctls != nil {
		cln = tls.NewListener(cln, ctls)
		cscheme = "https"
	}
	a.log.Info().Str("listen", scheme+"://"+ln.Addr().String()).Bool("client_certificates", c.Central.ClientCA != "").Msg("central serving")
	a.log.Info().Str("listen", cscheme+"://"+cln.Addr().String()).Msg("chain console serving")
	fmt.Fprintf(a.stdout, "central listening on %s://%s\n", scheme, ln.Addr())
	fmt.Fprintf(a.stdout, "chain console on %s://%s\n", cscheme, cln.Addr())
	return serveCentralAndConsole(ctx, a, srv, ln, csrv, cln, cons.Close)
}

// ingestServer is the central's HTTP server for the ingest protocol on s.
func ingestServer(a *app, s *postgres.Store) *http.Server {
	return &http.Server{
		Handler:           ship.NewServer(s, s, s, a.log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a batch of 16 MiB over a slow line
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		// TLS handshake failures and the like, into our log.
		ErrorLog: stdlog.New(a.log.With().Str("component", "central-http").Logger(), "", 0),
	}
}

// serveCentralAndConsole serves the ingest server srv on ln and the chain
// console csrv on cln until ctx ends (central serve, the chain demo);
// closeConsole ends the console's streams before the shutdown.
func serveCentralAndConsole(ctx context.Context, a *app, srv *http.Server, ln net.Listener, csrv *http.Server, cln net.Listener, closeConsole func()) error {
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ln) }()
	go func() { done <- csrv.Serve(cln) }()
	select {
	case err := <-done:
		srv.Close()
		csrv.Close()
		<-done
		return fmt.Errorf("the central stopped serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	closeConsole()
	err := errors.Join(srv.Shutdown(sctx), csrv.Shutdown(sctx))
	<-done
	<-done
	a.log.Info().Msg("central stopped")
	return err
}
