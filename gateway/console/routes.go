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
	sec := middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ContentSecurityPolicy: csp, ReferrerPolicy: "same-origin",
	}
	if s.o.TLS {
		sec.HSTSMaxAge = 31536000
	}
	e.Use(middleware.SecureWithConfig(sec))
	e.Use(middleware.BodyLimit("1M"))

	e.StaticFS("/static", echo.MustSubFS(staticFS, "static"))

	// The HTML console: a CSRF token on every form, sessions.
	timeout := middleware.ContextTimeout(30 * time.Second)
	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf",
		CookieName:     "callgate_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.o.TLS,
		CookieSameSite: http.SameSiteStrictMode,
		ContextKey:     "csrf",
	})
	// Middleware per route rather than by group: echo v4 groups with
	// middleware claim every unknown path under their prefix.
	open := []echo.MiddlewareFunc{csrf, timeout}
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
		mw := open
		if r.role != "" {
			mw = []echo.MiddlewareFunc{csrf, s.requireSession(r.role), timeout}
			if r.path == "/live" || r.path == "/calls.csv" { // streams: no deadline (export.go)
				mw = mw[:2]
			}
		}
		e.Add(r.method, r.path, r.h, mw...)
	}

	// The JSON API: API tokens, no cookies.
	api := e.Group("/api/v1", timeout)
	api.GET("/status", s.apiStatus, s.requireToken(roleFrontdesk))
	api.GET("/calls", s.apiCalls, s.requireToken(roleFrontdesk))
	api.GET("/calls/:id", s.apiCall, s.requireToken(roleFrontdesk))
	api.GET("/queues", s.apiQueues, s.requireToken(roleAuditor))
	api.POST("/actions", s.apiActions, s.requireToken(roleAuditor))
	api.RouteNotFound("/*", func(echo.Context) error { return echo.ErrNotFound }, s.requireToken(roleFrontdesk))
	return e
}

// errorHandler answers every error: a page with the message, or JSON under
// /api/. Errors of the gateway's kinds map onto status codes; anything
// unexpected is logged and answered 500 without details.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
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
