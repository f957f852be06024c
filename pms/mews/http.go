package mews

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"callgate/gateway"
)

// maxBody bounds what the link reads of one answer.
const maxBody = 16 << 20

// answer is what one request to Mews came back with.
type answer struct {
	status int    // HTTP status; 0 when no answer came
	body   []byte // the answer's body
	// wrote is whether Mews may have had the whole request: false means
	// it certainly did not act on it (no connection, or the write failed).
	wrote bool
	err   error // no answer: the network error, a timeout, ctx's end
	// retryAfter is a 429's Retry-After.
	retryAfter time.Duration
	// unauthorized: a 401 that re-reading the tokens did not cure.
	unauthorized bool
}

// send POSTs one operation to Mews and returns its answer. It waits for
// the client-side rate limit first. A 401 re-reads the token files and, if
// a token changed, sends the request once more (a 401 is never acted on).
//
// Who resends: never net/http. The request body has no GetBody and the
// request no Idempotency-Key header, so the transport replays nothing by
// itself, not even on a dead reused connection; every resend of a
// posting is the engine's decision (docs/pms-mews.md, "Who resends").
func (l *Link) send(ctx context.Context, path string, build func(Auth) any) answer {
	for try := 0; ; try++ {
		a, auth := l.sendOnce(ctx, path, build)
		if a.status != http.StatusUnauthorized {
			return a
		}
		if try > 0 || !l.reloadTokens(auth) {
			a.unauthorized = true
			return a
		}
		l.log.Info().Str("operation", path).Msg("Mews refused the tokens (401); read them again from their files and sending once more")
	}
}

func (l *Link) sendOnce(ctx context.Context, path string, build func(Auth) any) (answer, Auth) {
	auth, err := l.auth()
	if err != nil {
		return answer{err: gateway.Wrap(gateway.KindInvalid, err, err.Error())}, auth
	}
	body, err := json.Marshal(build(auth))
	if err != nil {
		return answer{err: err}, auth
	}
	if err := l.lim.wait(ctx); err != nil {
		return answer{err: err}, auth
	}
	defer l.lim.done() // after the body is read: see limiter
	ctx, cancel := context.WithTimeout(ctx, l.answerTimeout)
	defer cancel()
	var a answer
	// Whether Mews may have the request: once the transport has a
	// connection for it, yes — unless the transport says the write
	// failed (then Mews has no whole request). WroteRequest runs on the
	// transport's writing goroutine and may come after Do returned (the
	// caller gave up): then the request counts as sent, in doubt.
	var gotConn, writeFailed atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err != nil {
				writeFailed.Store(true)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, l.base+APIPrefix+path, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}, auth
	}
	req.GetBody = nil // no replay by the transport (see send)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		a.err, a.wrote = err, gotConn.Load() && !writeFailed.Load()
		return a, auth
	}
	defer resp.Body.Close()
	a.wrote = true // an answer came: Mews had the request
	a.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		// The status came but the body was cut: for a posting that is
		// as good as no answer.
		a.err = fmt.Errorf("the answer (HTTP %d) was cut off: %v", resp.StatusCode, err)
		return a, auth
	}
	a.status = resp.StatusCode
	if a.status == http.StatusTooManyRequests {
		a.retryAfter = retryAfter(resp.Header.Get("Retry-After"), l.now())
		l.lim.block(a.retryAfter)
		l.log.Warn().Str("operation", path).Dur("retry_after", a.retryAfter).Msg("Mews's request limit was reached (429): waiting as Mews asks")
	}
	return a, auth
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; absent
// or unreadable is 1 s, and more than 5 minutes is taken as 5 minutes.
func retryAfter(h string, now time.Time) time.Duration {
	d := time.Second
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		d = 0
	}
	return min(d, 5*time.Minute)
}

// auth returns the tokens in use, reading them the first time.
func (l *Link) auth() (Auth, error) {
	l.tokMu.Lock()
	defer l.tokMu.Unlock()
	if l.tokens.AccessToken == "" {
		c, a, err := l.o.Config.Tokens()
		if err != nil {
			return Auth{}, err
		}
		l.tokens = Auth{ClientToken: c, AccessToken: a, Client: l.o.Config.Auth.ClientName}
	}
	return l.tokens, nil
}

// reloadTokens reads the tokens again after Mews refused used, and reports
// whether they changed (then a request is worth sending again).
func (l *Link) reloadTokens(used Auth) bool {
	c, a, err := l.o.Config.Tokens()
	if err != nil {
		l.log.Warn().Err(err).Msg("cannot read the Mews tokens again")
		return false
	}
	l.tokMu.Lock()
	defer l.tokMu.Unlock()
	l.tokens = Auth{ClientToken: c, AccessToken: a, Client: l.o.Config.Auth.ClientName}
	return c != used.ClientToken || a != used.AccessToken
}

// errUnauthorized is why the link is down after a 401 not cured by
// re-reading the tokens.
func errUnauthorized(msg string) error {
	return gateway.Errorf(gateway.KindTransient, "Mews refused the integration's tokens (401: %s): put the hotel's current access token in pms.auth.access_token_file (and the client token in pms.auth.client_token_file); the gateway reads them again by itself", msg)
}

// errRateLimited is wrapped by a read's error after a 429: Mews answers,
// it only asks to wait (the limiter holds the next request as long).
var errRateLimited = errors.New("Mews's request limit was reached (429)")

// read sends a read-only operation (a getAll) and decodes it with dec.
// The error is KindTransient when Mews could not be asked (no answer,
// 5xx, 429 — after a 429 the limiter holds every request for Retry-After;
// nothing is sent again here), KindRejected when it refused the request.
func (l *Link) read(ctx context.Context, path string, build func(Auth) any, dec func([]byte) error) error {
	a := l.send(ctx, path, build)
	switch {
	case a.err != nil:
		if gateway.IsKind(a.err, gateway.KindInvalid) {
			return a.err
		}
		return gateway.Wrap(gateway.KindTransient, a.err, "Mews did not answer "+path+": "+netReason(a.err))
	case a.unauthorized:
		return errUnauthorized(DecodeError(a.body))
	case a.status == http.StatusTooManyRequests:
		return gateway.Wrap(gateway.KindTransient, errRateLimited, fmt.Sprintf("Mews's request limit was reached (429) on %s: asked again in %s", path, a.retryAfter))
	case a.status >= 500 || a.status == http.StatusRequestTimeout:
		return gateway.Errorf(gateway.KindTransient, "Mews failed on %s (HTTP %d: %s)", path, a.status, DecodeError(a.body))
	case a.status != http.StatusOK:
		return gateway.Errorf(gateway.KindRejected, "Mews refused %s (HTTP %d: %s)", path, a.status, DecodeError(a.body))
	}
	if err := dec(a.body); err != nil {
		return gateway.Wrap(gateway.KindTransient, err, "Mews's answer to "+path+" is unreadable: "+err.Error())
	}
	return nil
}

// netReason says in words why a request got no answer.
func netReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "the request was given up"
	}
	return err.Error()
}
