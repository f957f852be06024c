package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The chain console's reports and exports read the central's PostgreSQL
// for as long as they run, each on a connection of the pool the central's
// ingest also takes its connections from (docs/chain-console.md, "Limits").
// So that ingest never waits on them, at most ChainOptions.Concurrent run
// at once; a request beyond waits ChainOptions.BusyWait for a slot, then is
// answered 503 with a sentence. And every page they write has a deadline,
// so that a client that stops reading ends its request (and gives back
// its connection and its snapshot) rather than hold them.

// DefaultChainConcurrent is ChainOptions.Concurrent when unset.
const DefaultChainConcurrent = 2

// defaultBusyWait is ChainOptions.BusyWait when unset: long enough for a
// report that is about to end, short enough for a person at the page.
const defaultBusyWait = 5 * time.Second

// chainSlot takes one of the slots for reports and exports, waiting at
// most BusyWait; release gives it back.
func (s *Server) chainSlot(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.busyWait)
	defer t.Stop()
	select {
	case s.heavy <- struct{}{}:
		return func() { <-s.heavy }, nil
	case <-t.C:
		n := cap(s.heavy)
		return nil, &echo.HTTPError{Code: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("the central is busy: %d reports or exports are running, the most it runs at once; try again in a minute", n)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// setWriteDeadline gives the rest of the answer d to be written.
func (s *Server) setWriteDeadline(c echo.Context, d time.Duration) error {
	err := http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(d))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// errClientWrite marks an error writing the answer to the client (the
// deadline passed, the connection closed): the client's, not the
// central's.
type errClientWrite struct{ err error }

func (e errClientWrite) Error() string { return "writing to the client: " + e.err.Error() }
func (e errClientWrite) Unwrap() error { return e.err }

// errGone is the error of a request whose client went away: there is
// nobody to answer (errorHandler answers nothing, and logs nothing more).
type errGone struct{ err error }

func (e errGone) Error() string { return "the client went away: " + e.err.Error() }
func (e errGone) Unwrap() error { return e.err }

// clientGone tells whether err ended a report or an export because the
// client went away (the request's context ended, or writing to it failed)
// and logs it so, rather than as the central's fault, returning an errGone;
// ended by the console's Close, it is a 503 saying so; any other error is
// returned as it is.
func (s *Server) clientGone(c echo.Context, ctx context.Context, err error, what string) error {
	var we errClientWrite
	switch {
	case errors.As(err, &we):
		s.o.Logger.Info().Str("what", what).Err(we.err).Msg("chain console: the client stopped reading (gone, or slower than the write deadline); stopped")
		return errGone{we.err}
	case c.Request().Context().Err() != nil:
		s.o.Logger.Info().Str("what", what).Msg("chain console: the client went away; stopped")
		return errGone{c.Request().Context().Err()}
	case ctx.Err() != nil:
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the console is stopping: try again in a minute")
	}
	return err
}
