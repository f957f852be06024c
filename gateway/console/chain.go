package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"callgate/gateway"
)

// The chain console (docs/chain-console.md): the same console in a central
// mode, served by `gateway central serve`. It reads what the properties
// shipped to the central's PostgreSQL and changes nothing: postings are
// reposted, voided and confirmed at the property. Its users are the
// central's (`gateway central user add`), each seeing the properties on
// their list (none: every property); every read passes that list down, so
// no page, JSON answer or export reaches another property's rows.

// Chain is what the chain console reads from the central. Every method
// takes the properties it may read (nil: every property) and must read no
// other.
type Chain interface {
	// ChainUser returns the user called name. Outcomes: the user;
	// KindNotFound.
	ChainUser(ctx context.Context, name string) (ChainUser, error)
	// ChainProperties returns the properties named (nil: every one), by
	// name.
	ChainProperties(ctx context.Context, properties []string) ([]ChainProperty, error)
	// ChainToday returns, per property and currency, the calls and revenue
	// of the property's own local day at now (as gateway.Tally counts).
	ChainToday(ctx context.Context, properties []string, now time.Time) ([]ChainDayTotal, error)
	// ChainCalls returns the entries f selects, newest first.
	ChainCalls(ctx context.Context, f ChainFilter) ([]ChainEntry, error)
	// ChainEach calls fn with the entries sc selects, a page at a time
	// (the reports of gateway/report fold them), from one snapshot; fn
	// may not keep the page. An error from fn, or ctx ending, stops it.
	ChainEach(ctx context.Context, sc ChainScan, fn func([]ChainEntry) error) error
	// ChainExport calls fn with every call f selects (Offset and Limit
	// aside), newest first as ChainCalls lists them, page entries at a
	// time, from one snapshot; fn may not keep the page. count, when set,
	// is given the number of those calls first (in the same snapshot), and
	// an error from it stops the export before any page. An error from
	// fn, or ctx ending (the client gone), stops it.
	ChainExport(ctx context.Context, f ChainFilter, page int, count func(int64) error, fn func([]ChainEntry) error) error
}

// ChainScan selects the entries of a report at the central.
type ChainScan struct {
	Properties []string  // nil: every property
	From, To   time.Time // the entry time: [From, To)
	History    bool      // each entry with its state changes
	// ByStart orders the entries by the wall clock of their call's start
	// (report.Report.ByStart); otherwise by entry time, property, epoch
	// and entry.
	ByStart bool
	Page    int // the most entries fn is given at once
}

// ChainUser is a chain console user: the account and the properties it may
// see (nil: every property).
type ChainUser struct {
	gateway.User
	Properties []string
}

// ChainProperty is a property as the central holds it.
type ChainProperty struct {
	Name     string
	Disabled bool
	// Site is the property as it last shipped itself: name, zone, link,
	// queues, and when it was taken.
	Site gateway.SiteSnapshot
	// Epoch and Cursor are the latest epoch and its last event held;
	// Received is when that batch came.
	Epoch    string
	Cursor   uint64
	Received time.Time
}

// ChainDayTotal is one property's day in one currency.
type ChainDayTotal struct {
	Property, Currency string
	Calls              int64
	RevenueMinor       int64
}

// ChainEntry is an entry and the stream it came from.
type ChainEntry struct {
	Property, Epoch string
	gateway.Entry
}

// ChainFilter selects calls across properties.
type ChainFilter struct {
	Properties []string // nil: every property
	// From and To are local dates (each property's own), inclusive; zero:
	// open.
	From, To                      time.Time
	Room, Extension, State, Class string
	Offset, Limit                 int
}

// ChainOptions are the chain console's dependencies and settings.
type ChainOptions struct {
	Chain Chain
	// Title names the chain on the pages (default "callgate central").
	Title string
	// MaskDigits, MinorDigits, TLS, SessionTTL, WriteTimeout, Logger and
	// Now are as in Options.
	MaskDigits   int
	MinorDigits  func(currency string) (int, bool)
	TLS          bool
	SessionTTL   time.Duration
	WriteTimeout time.Duration
	Logger       zerolog.Logger
	Now          func() time.Time
	// Concurrent is the most reports and exports that run at once, each
	// holding a connection of the central's pool while it reads (default
	// DefaultChainConcurrent; `gateway central serve` sets half the pool,
	// docs/chain-console.md). BusyWait is how long a request beyond waits
	// for one to end before it is answered 503 (default 5 s).
	Concurrent int
	BusyWait   time.Duration
}

// NewChain builds the chain console.
func NewChain(co ChainOptions) (*Server, error) {
	if co.Chain == nil {
		return nil, errors.New("console: the chain console needs the central's Chain")
	}
	o := Options{Site: co.Title, Location: time.UTC, MaskDigits: co.MaskDigits, MinorDigits: co.MinorDigits, TLS: co.TLS,
		SessionTTL: co.SessionTTL, WriteTimeout: co.WriteTimeout, Logger: co.Logger, Now: co.Now}
	if o.Site == "" {
		o.Site = "callgate central"
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
	if co.Concurrent <= 0 {
		co.Concurrent = DefaultChainConcurrent
	}
	if co.BusyWait <= 0 {
		co.BusyWait = defaultBusyWait
	}
	s := &Server{o: o, done: make(chan struct{}), chain: co.Chain, heavy: make(chan struct{}, co.Concurrent), busyWait: co.BusyWait}
	s.lookupUser = func(ctx context.Context, name string) (gateway.User, error) {
		u, err := co.Chain.ChainUser(ctx, name)
		return u.User, err
	}
	s.sessions = newSessions(o.SessionTTL, o.Now)
	s.logins = newLoginLimiter(o.Now)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.e = s.chainRoutes()
	return s, nil
}

// chainRoutes is the chain console's site map: the property console's
// middleware (security headers, CSRF, sessions, deadlines), read-only
// pages.
func (s *Server) chainRoutes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Renderer = s
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.o.Logger.Error().Err(err).Str("path", c.Path()).Bytes("stack", stack).Msg("chain console: a handler panicked")
			return err
		},
	}))
	useSecurity(e, s.o.TLS)

	timeout := middleware.ContextTimeout(2 * time.Minute)
	for _, r := range []struct {
		method, path string
		role         string
		h            echo.HandlerFunc
	}{
		{"GET", "/login", "", s.loginForm},
		{"POST", "/login", "", s.login},
		{"POST", "/logout", "", s.logout},

		{"GET", "/", roleFrontdesk, s.chainDashboard},
		{"GET", "/calls", roleFrontdesk, s.chainCalls},
		// The JSON API of the chain console: the session's cookie (the
		// central's users have no API tokens), reads only.
		{"GET", "/api/v1/properties", roleFrontdesk, s.chainAPIProperties},
		{"GET", "/api/v1/calls", roleFrontdesk, s.chainAPICalls},

		{"GET", "/calls/export", roleAuditor, s.chainCallsExport},
		{"GET", "/reports", roleAuditor, s.chainReports},
		{"GET", "/reports/download", roleAuditor, s.chainReportDownload},
	} {
		mode := csrfPage
		switch r.path {
		case "/login":
			mode = csrfLogin
		case "/logout":
			mode = csrfLogout
		}
		mw := []echo.MiddlewareFunc{noStore, s.csrf(mode)}
		if r.role != "" {
			mw = append(mw, s.requireSession(r.role), s.chainScope)
		}
		switch r.path {
		case "/calls/export", "/reports", "/reports/download":
			// Reports and exports over any number of calls: no deadline
			// while the central is read; the export sets one before each
			// page it writes, a report once its table is computed
			// (chain_slots.go). They end with the request or the
			// console's Close.
		default:
			mw = append(mw, s.writeDeadline, timeout)
		}
		e.Add(r.method, r.path, r.h, mw...)
		if r.method == http.MethodGet {
			e.Add(http.MethodHead, r.path, r.h, mw...)
		}
	}
	return e
}

// ctxSees is the context key of the properties the user may see (nil:
// every one), read afresh from the central on every request.
const ctxSees = "sees"

// chainScope reads the session's user from the central on every request,
// so that a user disabled or given another list of properties is held to
// it at once; a user gone or disabled loses the session.
func (s *Server) chainScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		w := current(c)
		u, err := s.chain.ChainUser(c.Request().Context(), w.user)
		if err != nil && !gateway.IsKind(err, gateway.KindNotFound) {
			return err
		}
		if err != nil || u.Disabled || u.Role != w.role {
			s.sessions.dropUser(w.user)
			s.setSessionCookie(c, "")
			return echo.NewHTTPError(http.StatusUnauthorized, "your account was changed or removed at the central: log in again")
		}
		sees := u.Properties
		if sees != nil && len(sees) == 0 {
			sees = []string{} // a list that names none sees none
		}
		c.Set(ctxSees, sees)
		return next(c)
	}
}

// sees returns the properties the request's user may see (nil: every).
func sees(c echo.Context) []string {
	v, _ := c.Get(ctxSees).([]string)
	return v
}

// scope returns the properties a request reads: its property parameter
// (one name, or names separated by commas; empty or "all": every property
// the user may see), each of which the user must be allowed. nil means
// every property (a user who sees all, asking for all).
func (s *Server) scope(c echo.Context) ([]string, error) {
	allowed := sees(c)
	want := strings.TrimSpace(c.QueryParam("property"))
	if want == "" || want == "all" {
		return allowed, nil
	}
	if len(want) > 2000 {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "the property list is too long")
	}
	var out []string
	for _, p := range strings.Split(want, ",") {
		p = strings.TrimSpace(p)
		if p == "" || slices.Contains(out, p) {
			continue
		}
		if allowed != nil && !slices.Contains(allowed, p) {
			return nil, echo.NewHTTPError(http.StatusForbidden, "you may not see property "+quote(p)+": ask a chain admin to add it to your list (gateway central user add … --properties)")
		}
		out = append(out, p)
	}
	if out == nil {
		return allowed, nil
	}
	return out, nil
}
