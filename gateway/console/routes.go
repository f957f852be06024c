package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"callgate/gateway"
)

// csp forbids inline scripts and styles and everything from elsewhere.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// routes builds the echo app: the middleware, then every route of the
// console, the site map in one place.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Renderer = s
	e.HTTPErrorHandler = s.errorHandler
	// Nothing sits in front of the console: the peer's address is the
	// client's (the login limiter keys on it).
	e.IPExtractor = echo.ExtractIPDirect()

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.o.Logger.Error().Err(err).Str("path", c.Path()).Bytes("stack", stack).Msg("console: a handler panicked")
			return err
		},
	}))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogStatus: true, LogLatency: true, LogRemoteIP: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// The path only: a query may hold a dialed number.
			s.o.Logger.Debug().Str("method", v.Method).Str("path", v.URIPath).Int("status", v.Status).
				Dur("latency", v.Latency).Str("ip", v.RemoteIP).Msg("console request")
			return nil
		},
	}))
	useSecurity(e, s.o.TLS)

	// The HTML console: server-side sessions, a CSRF token of the session
	// on every form (auth.go).
	timeout := middleware.ContextTimeout(30 * time.Second)
	// Middleware per route rather than by group: echo v4 groups with
	// middleware claim every unknown path under their prefix.
	for _, r := range []struct {
		method, path string
		role         string // "" for no session
		h            echo.HandlerFunc
	}{
		{"GET", "/login", "", s.loginForm},
		{"POST", "/login", "", s.login},
		{"POST", "/logout", "", s.logout},

		{"GET", "/", roleFrontdesk, s.dashboard},
		{"GET", "/live", roleFrontdesk, s.live}, // a stream: no timeout; ends with the request or Close
		{"GET", "/calls", roleFrontdesk, s.calls},
		{"GET", "/calls/:id", roleFrontdesk, s.callDetail},
		{"GET", "/rooms", roleFrontdesk, s.rooms},
		{"GET", "/rooms/:room/statement", roleFrontdesk, s.statement},

		{"GET", "/calls.csv", roleAuditor, s.exportCSV}, // a stream: no timeout; aborted if cut
		{"GET", "/exceptions", roleAuditor, s.exceptions},
		{"POST", "/exceptions/resolve", roleAuditor, s.resolve},
		{"POST", "/exceptions/bulk", roleAuditor, s.bulk},
		{"GET", "/audit", roleAuditor, s.auditLog},
		{"GET", "/tariff", roleAuditor, s.tariff},
		{"GET", "/reports", roleAuditor, s.reports},
		{"GET", "/reports/download", roleAuditor, s.reportDownload},

		{"POST", "/rooms/resync", roleAdmin, s.resync},
		{"POST", "/tariff/reload", roleAdmin, s.reloadTariff},
		{"GET", "/users", roleAdmin, s.users},
		{"POST", "/users", roleAdmin, s.userAction},
	} {
		if (r.path == "/tariff" && s.o.Tariff == nil) || (r.path == "/tariff/reload" && (s.o.Tariff == nil || s.o.ReloadTariff == nil)) {
			continue
		}
		mode := csrfPage
		switch r.path {
		case "/login":
			mode = csrfLogin
		case "/logout":
			mode = csrfLogout
		}
		mw := []echo.MiddlewareFunc{noStore, s.csrf(mode)}
		if r.role != "" {
			mw = append(mw, s.requireSession(r.role))
		}
		stream := streams[r.path]
		if !stream { // streams (export.go, live.go) run without a deadline
			mw = append(mw, s.writeDeadline, timeout)
		}
		e.Add(r.method, r.path, r.h, mw...)
		if r.method == http.MethodGet {
			// HEAD as GET without the body; a stream's HEAD gets the
			// header only rather than a stream nobody reads.
			h := r.h
			if stream {
				h = streamHead
			}
			e.Add(http.MethodHead, r.path, h, mw...)
		}
	}

	// The JSON API: API tokens, no cookies.
	api := e.Group("/api/v1", noStore, s.writeDeadline, timeout)
	for _, r := range []struct {
		method, path, role string
		h                  echo.HandlerFunc
	}{
		{"GET", "/status", roleFrontdesk, s.apiStatus},
		{"GET", "/calls", roleFrontdesk, s.apiCalls},
		{"GET", "/calls/:id", roleFrontdesk, s.apiCall},
		{"GET", "/queues", roleAuditor, s.apiQueues},
		{"POST", "/actions", roleAuditor, s.apiActions},
		{"POST", "/actions/bulk", roleAuditor, s.apiBulk},
	} {
		api.Add(r.method, r.path, r.h, s.requireToken(r.role))
		if r.method == http.MethodGet {
			api.Add(http.MethodHead, r.path, r.h, s.requireToken(r.role))
		}
	}
	api.RouteNotFound("/*", func(echo.Context) error { return echo.ErrNotFound }, s.requireToken(roleFrontdesk))
	return e
}

// streams are the routes that answer with a stream of unknown length: no
// write deadline (it would cut them), no body for HEAD.
var streams = map[string]bool{"/live": true, "/calls.csv": true}

// streamHead answers HEAD on a stream: its content type, no body.
func streamHead(c echo.Context) error {
	ct := "text/event-stream"
	if c.Path() == "/calls.csv" {
		ct = "text/csv; charset=utf-8"
	}
	c.Response().Header().Set(echo.HeaderContentType, ct)
	return c.NoContent(http.StatusOK)
}

// errorHandler answers every error: a page with the message, or JSON under
// /api/. Errors of the gateway's kinds map onto status codes; anything
// unexpected is logged and answered 500 without details.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed || errors.As(err, new(errGone)) {
		return // answered, or nobody to answer (chain_slots.go)
	}
	code, msg := http.StatusInternalServerError, "the console could not answer: see the gateway's log"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	case gateway.IsKind(err, gateway.KindInvalid):
		code, msg = http.StatusUnprocessableEntity, gateway.Message(err)
	case gateway.IsKind(err, gateway.KindNotFound):
		code, msg = http.StatusNotFound, gateway.Message(err)
	case gateway.IsKind(err, gateway.KindTransient):
		code, msg = http.StatusServiceUnavailable, gateway.Message(err)
	}
	if code >= 500 {
		s.o.Logger.Error().Err(err).Str("path", c.Path()).Msg("console error")
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(code)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		c.JSON(code, map[string]string{"error": msg})
		return
	}
	v := s.view(c, "Error")
	v.Status, v.Message = code, msg
	if err := c.Render(code, "error", v); err != nil {
		c.String(code, msg)
	}
}

// useSecurity sets the headers, the body limit and the static files that
// the property console and the chain console share
// (docs/console-security.md); tls adds HSTS.
func useSecurity(e *echo.Echo, tls bool) {
	sec := middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ContentSecurityPolicy: csp, ReferrerPolicy: "same-origin",
	}
	if tls {
		sec.HSTSMaxAge = 31536000
	}
	e.Use(middleware.SecureWithConfig(sec))
	e.Use(middleware.BodyLimit("1M"))
	e.StaticFS("/static", echo.MustSubFS(staticFS, "static"))
}
