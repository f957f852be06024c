package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// live streams the dashboard's snapshot as server-sent events: one event
// "status" when it changes, a comment every 15 s to keep proxies from
// closing the stream. It ends when the browser leaves or the console
// closes. At most Options.LiveStreams streams are open at once: past
// that, 503 with Retry-After.
func (s *Server) live(c echo.Context) error {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		c.Response().Header().Set("Retry-After", "30")
		return echo.NewHTTPError(http.StatusServiceUnavailable, fmt.Sprintf(
			"too many live dashboards are open (%d): close one (another tab or desk) or reload later; the dashboard still shows the status, without live updates", cap(s.streams)))
	}
	w := current(c)
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/event-stream")
	res.Header().Set(echo.HeaderCacheControl, "no-store")
	res.Header().Set("X-Accel-Buffering", "no")
	res.WriteHeader(http.StatusOK)
	res.Flush()
	ctx := c.Request().Context()
	tick := time.NewTicker(s.o.LiveInterval)
	defer tick.Stop()
	var last []byte
	quiet := time.Now()
	for {
		sn, err := s.snapshot(ctx, w)
		if err == nil {
			// Sent when anything but the time stamp changed.
			stamp := sn.Updated
			sn.Updated = ""
			b, _ := json.Marshal(sn)
			if !bytes.Equal(b, last) {
				last = b
				sn.Updated = stamp
				b, _ = json.Marshal(sn)
				if _, err := fmt.Fprintf(res, "event: status\ndata: %s\n\n", b); err != nil {
					return nil
				}
				res.Flush()
				quiet = time.Now()
			}
		}
		if time.Since(quiet) > 15*time.Second {
			if _, err := fmt.Fprint(res, ": keep-alive\n\n"); err != nil {
				return nil
			}
			res.Flush()
			quiet = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-tick.C:
		}
	}
}
