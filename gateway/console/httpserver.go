package console

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The HTTP limits of the console's listener (docs/console-security.md).
const (
	// headerTimeout is how long a request's header may take to arrive.
	headerTimeout = 10 * time.Second
	// bodyTimeout is how long its body may take, from the end of the
	// header.
	bodyTimeout = 15 * time.Second
	// idleTimeout is how long a kept-alive connection waits for the next
	// request.
	idleTimeout = 2 * time.Minute
	// maxBody is the largest request body read (the console's forms and
	// API bodies are far smaller).
	maxBody = 1 << 20
	// defaultWriteTimeout is how long a page or an API answer may take to
	// be written; streams (the live dashboard, the CSV export) have none.
	defaultWriteTimeout = 2 * time.Minute
)

// HTTPServer returns the http.Server for the console's listener, serving h
// (the console, with /metrics and /healthz beside it).
//
// Its ReadTimeout and WriteTimeout are left at zero on purpose: net/http
// applies ReadTimeout to the whole request's connection read, and when it
// passes while the handler still runs it cancels the request's context,
// which would cut the live stream and the CSV export; WriteTimeout would
// cut them outright. Instead the header has ReadHeaderTimeout, the body is
// read in full within bodyTimeout before any handler sees it, and the
// console sets a write deadline per answer (Options.WriteTimeout) on
// everything that is not a stream.
func HTTPServer(h http.Handler, tlsConf *tls.Config) *http.Server {
	return newHTTPServer(h, tlsConf, bodyTimeout)
}

func newHTTPServer(h http.Handler, tlsConf *tls.Config, body time.Duration) *http.Server {
	return &http.Server{
		Handler:           readBody(h, body),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// readBody reads a request's body, up to maxBody, within d, before the
// handler runs; a body that does not arrive in time is answered 408 and
// the connection closed, one too large 413.
func readBody(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(d))
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			w.Header().Set("Connection", "close")
			http.Error(w, "the request's body did not arrive within "+d.String()+": send it again", http.StatusRequestTimeout)
			return
		}
		if len(b) > maxBody {
			w.Header().Set("Connection", "close")
			http.Error(w, "the request's body is larger than 1 MB", http.StatusRequestEntityTooLarge)
			return
		}
		// No deadline while the handler runs: a deadline left on the
		// connection would cancel the request's context when it passes.
		rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

// writeDeadline bounds the time an answer may take to be written, so that
// a client that reads slowly cannot hold a connection; not for streams.
func (s *Server) writeDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return next(c)
	}
}

// noStore keeps every answer but the static files out of caches: pages and
// API answers carry guests' calls, and the users page a new API token.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}
