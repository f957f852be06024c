// Package console is the night auditor's web console: the calls, their
// history and rating, the queues that need a person and the actions that
// resolve them, the audit log, and a CSV export. It is an echo v4 app
// mounted on the gateway's HTTP listener; it reads the journal through
// gateway.Queries, acts through gateway.Journal.Move, and keeps its users in
// gateway.Users.
//
// The routes are listed in one place, routes.go; every handler has its own
// file named after its page.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/ship"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Engine is what the console needs of the running engine.
type Engine interface {
	Status() gateway.Status
	// Wake makes the poster look at the queue now (after a person queued a
	// posting again).
	Wake()
	// Resync asks the PMS for its whole guest database.
	Resync(ctx context.Context) error
}

// Options are the console's dependencies and settings.
type Options struct {
	Engine  Engine
	Journal gateway.Journal
	Queries gateway.Queries
	Users   gateway.Users
	// Tariff, if set, is shown on /tariff.
	Tariff gateway.TariffView
	// ReloadTariff, if set, reloads the tariff file (an admin's button on
	// /tariff) and reports whether the new file took over.
	ReloadTariff func() bool
	// ReportOptions, if set, returns the configured report options (trunk
	// groups, grade of service, exception thresholds, MinorDigits) for
	// /reports, which sets the dates. Unset, /reports uses the defaults
	// with Location and MinorDigits.
	ReportOptions func() report.Options
	// CarrierTariffs, if set, loads the alternative tariffs of the
	// carriers report (the config's report.carriers); unset, /reports does
	// not offer carriers.
	CarrierTariffs func() ([]report.NamedRater, error)
	// Deliveries, if set, returns the state of the reports e-mailed on a
	// schedule, shown on the dashboard to auditors and admins.
	Deliveries func() []report.Delivery
	// Shipping, if set, returns the state of the shipping to the central
	// (ok false without a central), on the dashboard and in
	// /api/v1/status (docs/central.md).
	Shipping func() (ship.ShipStatus, bool)

	// Site is the hotel's name for the page titles.
	Site string
	// Location is the site's time zone: pages show local wall-clock time and
	// UTC.
	Location *time.Location
	// MaskDigits is how many leading digits of a dialed number the front
	// desk sees (the rest are x; 0 hides them all). Auditors and admins see
	// whole numbers.
	MaskDigits int
	// MinorDigits gives a currency's decimals (tariff.MinorDigits); amounts
	// of unknown currencies are shown with 2.
	MinorDigits func(currency string) (int, bool)
	// TLS says the console is served over TLS: cookies are Secure and HSTS
	// is sent.
	TLS bool
	// LiveInterval is how often the dashboard's live stream looks for news
	// (default 2 s).
	LiveInterval time.Duration
	// LiveStreams is how many live streams (/live) may be open at once,
	// over every user (default DefaultLiveStreams); one more is answered
	// 503 with Retry-After, and its dashboard stays without live updates.
	LiveStreams int
	// SessionTTL is how long a session lasts without use (default 8 h).
	SessionTTL time.Duration
	// WriteTimeout is how long a page or an API answer may take to be
	// written (default 2 min); the live stream and the CSV export have no
	// such limit.
	WriteTimeout time.Duration

	Logger zerolog.Logger
	Now    func() time.Time
}

// Server is the console: an http.Handler.
type Server struct {
	o        Options
	e        *echo.Echo
	pages    map[string]*template.Template
	sessions *sessions
	logins   *loginLimiter

	// streams holds a token per open live stream (Options.LiveStreams).
	streams chan struct{}

	done     chan struct{}
	stopOnce sync.Once

	// lookupUser finds a login's user: Options.Users, or the chain's
	// users in the chain console (chain.go).
	lookupUser func(ctx context.Context, name string) (gateway.User, error)
	// chain is set in the chain console (NewChain): the central's reads.
	chain Chain
	// heavy holds a token per chain report or export running
	// (ChainOptions.Concurrent); busyWait is how long a request waits for
	// one (chain_slots.go).
	heavy    chan struct{}
	busyWait time.Duration
}

// DefaultLiveStreams is Options.LiveStreams when unset: a hotel has a few
// desks with a dashboard open; a stream costs a goroutine and a snapshot
// every LiveInterval, so the cap keeps an account (the front desk's is the
// lowest role) from holding the console busy with thousands of them.
const DefaultLiveStreams = 32

// New builds the console; it fails if a template does not parse.
func New(o Options) (*Server, error) {
	if o.Engine == nil || o.Journal == nil || o.Queries == nil || o.Users == nil {
		return nil, errors.New("console: Engine, Journal, Queries and Users are required")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.LiveInterval <= 0 {
		o.LiveInterval = 2 * time.Second
	}
	if o.LiveStreams <= 0 {
		o.LiveStreams = DefaultLiveStreams
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Site == "" {
		o.Site = "callgate"
	}
	s := &Server{o: o, done: make(chan struct{}), streams: make(chan struct{}, o.LiveStreams)}
	s.lookupUser = o.Users.User
	s.sessions = newSessions(o.SessionTTL, o.Now)
	s.logins = newLoginLimiter(o.Now)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.e = s.routes()
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Close ends the dashboards' live streams, so that the HTTP server's
// Shutdown does not wait for them. Call it before Shutdown.
func (s *Server) Close() { s.stopOnce.Do(func() { close(s.done) }) }

// parsePages parses every page once, each with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(name, ".html")] = t
	}
	return pages, nil
}

// Render implements echo.Renderer: name is a page, data its view.
func (s *Server) Render(w io.Writer, name string, data any, c echo.Context) error {
	t, ok := s.pages[name]
	if !ok {
		return errors.New("console: no page " + name)
	}
	return t.ExecuteTemplate(w, "layout.html", data)
}
