package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/mail"
	"callgate/gateway/metrics"
	"callgate/gateway/notify"
	"callgate/gateway/report"
	"callgate/gateway/ship"
	"callgate/internal/yamlstrict"
	"callgate/pbx"
	"callgate/store"
	"callgate/tariff"
)

func serveCommand() *command {
	var path string
	return &command{
		name:    "serve",
		summary: "run the gateway: read the PBX, journal, rate, post to the PMS; the web console, metrics and health on the console's address",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&path, "config", "", "the config file (required)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"serve takes no arguments"}
			}
			if path == "" {
				return usageError{"serve needs --config FILE"}
			}
			c, err := LoadConfig(path)
			var problems Problems
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Fprintln(a.stderr, p)
				}
				return fmt.Errorf("%s has %d problem(s): fix them (gateway check --config %s lists them) and start again", path, len(problems), path)
			}
			if err != nil {
				return err
			}
			g, err := startGateway(ctx, c, a.log)
			if err != nil {
				return err
			}
			return g.run(ctx)
		},
	}
}

// gatewayRun is a started gateway: journal open, transports open, engine
// ready, HTTP listener bound. run runs it until ctx ends and closes it all.
type gatewayRun struct {
	cfg     *Config
	log     zerolog.Logger
	journal *store.Journal
	tariff  *tariff.Reloading
	engine  *gateway.Engine
	console *console.Server
	// reports sends the config's scheduled reports (nil without any).
	reports *report.Scheduler
	// shipper ships the journal to the central (nil without one).
	shipper *ship.Shipper
	mail    *mail.Server // the scheduled reports are sent through
	// notify delivers the alarms (nil without alarms.notify).
	notify *notify.Notifier
	http   *http.Server
	ln     net.Listener
	// closers close what the gateway opened, last first (closeAll).
	closers []func() error
}

// startGateway opens everything serve needs, in an order that fails early
// and cleanly: journal, tariff, parser, PMS link, PBX source, HTTP listener.
func startGateway(ctx context.Context, c *Config, log zerolog.Logger) (_ *gatewayRun, err error) {
	g := &gatewayRun{cfg: c, log: log.With().Str("component", "serve").Logger()}
	defer func() {
		if err != nil {
			g.closeAll()
		}
	}()
	for _, w := range configWarnings(c) {
		g.log.Warn().Str("key", w.Key).Msg(w.Msg) // what gateway check warns about
	}
	g.journal, err = store.Open(c.Resolve(c.Store.Path), serveStoreOptions(c, log))
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, g.journal.Close)
	if len(c.Reports) > 0 {
		g.mail = c.mailServer()
		if g.reports, err = newScheduler(c, g.journal, g.mail, log); err != nil {
			return nil, err
		}
	}
	g.tariff, err = tariff.LoadReloading(c.Resolve(c.Tariff), log.With().Str("component", "tariff").Logger())
	if err != nil {
		return nil, fmt.Errorf("tariff %s: %w", c.Resolve(c.Tariff), err)
	}
	g.tariff.OnChange = func(path string) { g.audit("tariff-change", map[string]string{"file": path, "sha256": fileSum(path)}) }
	parser, err := pbx.NewParser(c.PBX.Format, c.PBX.ParserOptions(c.Location))
	if err != nil {
		return nil, err
	}
	silence := time.Duration(c.PBX.SilenceMinutes) * time.Minute
	eng := &gateway.Engine{
		Parser:       parser,
		Rater:        g.tariff,
		Journal:      g.journal,
		Queries:      g.journal,
		Rooms:        c.Rooms.RoomMap(),
		PostToVacant: c.Policy.PostToVacant,
		Alarms:       c.Alarms.Options(),
		Fraud:        c.Alarms.FraudRules(),
		Credit:       c.Rooms.Credit.Limits(),
		MinorDigits:  tariff.MinorDigits,
		Property:     c.Site.Name, // in posting references
		Logger:       log.With().Str("component", "engine").Logger(),
	}
	g.engine = eng
	if len(c.Alarms.Notify) > 0 {
		// Alarms delivered by e-mail and webhook, from the engine's one
		// list; a target that keeps failing is an alarm in that list.
		if g.notify, err = c.notifier(eng.SetAlarm, log); err != nil {
			return nil, err
		}
		eng.OnAlarm = g.notify.Alarm
	}
	// The PMS link, by pms.protocol (pms.go); it sets the engine's waits
	// and limits from its section.
	var linkClosers []func() error
	link, err := c.openPMS(eng, pmsEnv{Logger: log, Closers: &linkClosers, Location: c.Location})
	g.closers = append(g.closers, linkClosers...) // a transcript file: closed at the stop too
	// The engine closes the PMS link and the PBX source when it stops, the
	// HTTP server its listener: the closers from here on are for a failed
	// start only.
	kept := len(g.closers)
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, link.Close)
	eng.PMS = link
	src, err := openSource(c, log, func(silent bool) { eng.PBXSilent(silent, silence) })
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, src.Close)
	eng.Source = src
	// The shipper's client holds no connection until Run: nothing to
	// close on a failed start.
	if g.shipper, err = newShipper(c, g.journal, eng, log); err != nil {
		return nil, err
	}
	m := metrics.New(eng, g.journal)
	m.AddShipping(g.shipStatus)
	m.AddCounters("pbx_connections_refused_total", "PBX connections refused (tcp-listen), by reason: not-allowed, address-limit, full.", "reason",
		func() map[string]int64 { return src.Stats().Refused() })
	m.AddCounters("pbx_connections_evicted_total", "Idle PBX connections closed to make room for a new one (tcp-listen).", "",
		func() map[string]int64 { return map[string]int64{"": src.Stats().Evicted} })
	eng.Latency = m.ObserveLatency
	g.ln, err = net.Listen("tcp", c.Console.Listen)
	if err != nil {
		return nil, fmt.Errorf("console.listen %s: %w", c.Console.Listen, err)
	}
	g.closers = append(g.closers, g.ln.Close)
	tlsConf, err := c.Console.TLSConfig(c.Resolve)
	if err != nil {
		return nil, err
	}
	var carriers func() ([]report.NamedRater, error)
	if len(c.Report.Carriers) > 0 {
		carriers = c.carrierTariffs
	}
	g.console, err = console.New(console.Options{
		Engine:         eng,
		Journal:        g.journal,
		Queries:        g.journal,
		Users:          g.journal,
		Tariff:         g.tariff,
		ReloadTariff:   g.tariff.Reload,
		Site:           c.Site.Name,
		Location:       c.Location,
		MaskDigits:     c.Console.MaskDigits,
		MinorDigits:    tariff.MinorDigits,
		ReportOptions:  c.reportOptions,
		CarrierTariffs: carriers,
		Deliveries:     g.deliveries,
		Shipping:       g.shipStatus,
		TLS:            c.Console.TLSCert != "",
		Logger:         log.With().Str("component", "console").Logger(),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", metrics.Healthz(eng, g.journal))
	mux.Handle("/", g.console)
	g.http = console.HTTPServer(mux, tlsConf) // its timeouts: docs/console-security.md
	g.audit("serve-start", map[string]string{"config": c.Path, "config_sha256": fileSum(c.Path), "tariff_sha256": fileSum(c.Resolve(c.Tariff))})
	g.closers = g.closers[:kept]
	return g, nil
}

// serveStoreOptions maps the store section onto the journal's options, with
// the journal's logger.
func serveStoreOptions(c *Config, log zerolog.Logger) store.Options {
	o := storeOptions(c)
	o.Logger = log // the store names itself: component store
	return o
}

func (g *gatewayRun) audit(action string, detail map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.journal.Audit(ctx, gateway.AuditRecord{Actor: "gateway", Action: action, Detail: detail}); err != nil {
		g.log.Warn().Err(err).Str("action", action).Msg("audit record not written")
	}
}

// run runs the engine and the HTTP listener until ctx ends, then stops in
// order: the engine (PBX, posting in flight, PMS link), HTTP, the journal.
func (g *gatewayRun) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go g.tariff.Watch(ctx, 2*time.Second, hup)
	// The reports stop with ctx, or when the engine stops on an error.
	stopReports := g.reports.Start(ctx)
	if g.reports != nil {
		g.log.Info().Int("reports", len(g.cfg.Reports)).Msg("scheduled reports: e-mail delivery running")
	}
	notifyDone := make(chan struct{})
	notifyCtx, stopNotify := context.WithCancel(context.Background())
	defer stopNotify()
	go func() {
		defer close(notifyDone)
		if g.notify != nil {
			g.log.Info().Int("targets", len(g.cfg.Alarms.Notify)).Msg("alarm delivery running")
			g.notify.Run(notifyCtx)
		}
	}()
	httpDone := make(chan error, 1)
	go func() {
		if g.http.TLSConfig != nil {
			httpDone <- g.http.ServeTLS(g.ln, "", "")
			return
		}
		httpDone <- g.http.Serve(g.ln)
	}()
	g.log.Info().Str("site", g.cfg.Site.Name).Str("pbx_format", g.cfg.PBX.Format).Str("pbx_transport", g.cfg.PBX.Transport).
		Str("listen", g.ln.Addr().String()).Msg("callgate serving")
	shipCtx, stopShip := context.WithCancel(ctx)
	shipDone := g.runShipper(shipCtx)
	err := g.engine.Run(ctx)
	stopShip()
	shipDone() // the shipper's last read or cursor write ends before the journal closes
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.console.Close() // ends the dashboards' live streams, which Shutdown would wait for
	g.http.Shutdown(shut)
	<-httpDone
	stopReports() // a report being read or sent ends before the journal closes
	stopNotify()  // the engine has stopped: no alarm changes after this
	<-notifyDone
	g.closeAll()
	return err
}

// deliveries is the scheduled reports' state for the dashboard (nil without
// a scheduler).
func (g *gatewayRun) deliveries() []report.Delivery {
	if g.reports == nil {
		return nil
	}
	return g.reports.Status()
}

func (g *gatewayRun) closeAll() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		if err := g.closers[i](); err != nil {
			g.log.Warn().Err(err).Msg("closing")
		}
	}
	g.closers = nil
}

// fileSum returns a file's SHA-256 in hex, for the audit log ("" if it
// cannot be read).
func fileSum(path string) string {
	b, err := yamlstrict.ReadFile(path, yamlstrict.MaxYAML) // only what loaded: a config or tariff file
	if err != nil {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
