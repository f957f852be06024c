package apaleo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// client speaks HTTP to apaleo: the bearer token, the client-side rate,
// Retry-After, and whether a request that got no answer may have reached
// apaleo.
// It never sends a request again by itself except once after a 401 (the
// API refused the token: nothing was done) — see docs/pms-apaleo.md,
// "Who sends again".
type client struct {
	o   settings
	hc  *http.Client
	log zerolog.Logger

	tokenMu sync.Mutex // one token request at a time
	mu      sync.Mutex
	token   string
	refresh time.Time // when the token is renewed (before it expires)

	every time.Duration // the rate's spacing
	burst int
	tat   time.Time // the limiter's next free slot (GCRA)
	hold  time.Time // no request before this (a 429's Retry-After)
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// callError is a request that got no HTTP answer, or a token that could
// not be had.
type callError struct {
	msg     string
	err     error
	written bool // the request had a connection: it may have reached apaleo
	auth    bool // the identity server refused the credentials
}

func (e *callError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *callError) Unwrap() error { return e.err }

func newClient(o settings) *client {
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	burst := int(o.RequestsPerS)
	if burst < 1 {
		burst = 1
	}
	return &client{o: o, hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		log: o.Logger, every: time.Duration(float64(time.Second) / o.RequestsPerS), burst: burst}
}

// wait blocks until the rate and any Retry-After allow a request.
func (c *client) wait(ctx context.Context) error {
	c.mu.Lock()
	now := time.Now()
	t := c.tat
	if t.Before(now) {
		t = now
	}
	start := t.Add(-time.Duration(c.burst-1) * c.every)
	if start.Before(c.hold) {
		start = c.hold
		if t.Before(c.hold) {
			t = c.hold
		}
	}
	c.tat = t.Add(c.every)
	c.mu.Unlock()
	d := start.Sub(now)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// holdFor makes every request wait as a 429's Retry-After says: seconds,
// or an HTTP date; 1 s when absent or unreadable, at most RetryAfterMax.
func (c *client) holdFor(h string) time.Duration {
	d := time.Second
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	d = min(max(d, 0), c.o.RetryAfterMax)
	c.mu.Lock()
	if until := time.Now().Add(d); until.After(c.hold) {
		c.hold = until
	}
	c.mu.Unlock()
	return d
}

// bearer returns a token, asking the identity server for one when there is
// none or it is due for renewal.
func (c *client) bearer(ctx context.Context) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	c.mu.Lock()
	tok, due := c.token, c.refresh
	c.mu.Unlock()
	if tok != "" && c.o.Now().Before(due) {
		return tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.o.Scope != "" {
		form.Set("scope", c.o.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &callError{msg: "cannot ask apaleo's identity server for a token", err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.o.ClientID), url.QueryEscape(c.o.ClientSecret))
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", &callError{msg: "apaleo's identity server (" + hostOf(c.o.TokenURL) + ") did not answer a token request", err: unwrapURL(err)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return "", &callError{msg: "the token answer from apaleo's identity server was cut off", err: err}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		var oe OAuthError
		_ = decodeStrict(body, &oe)
		why := oe.Error
		if oe.Description != "" {
			why += ": " + oe.Description
		}
		if why == "" {
			why = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return "", &callError{auth: true, msg: fmt.Sprintf("apaleo's identity server refused the client credentials (%s): check pms.auth.client_id and the secret in pms.auth.client_secret_file", clip(why, 200))}
	default:
		return "", &callError{msg: fmt.Sprintf("apaleo's identity server answered a token request with HTTP %d (%s)", resp.StatusCode, ErrorText(resp.StatusCode, body))}
	}
	t, err := DecodeToken(body)
	if err != nil {
		return "", &callError{msg: "apaleo's identity server sent an unreadable token", err: err}
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	margin := min(life/10, time.Minute)
	c.mu.Lock()
	c.token, c.refresh = t.AccessToken, c.o.Now().Add(life-margin)
	c.mu.Unlock()
	c.log.Debug().Dur("lifetime", life).Msg("apaleo: new access token")
	return t.AccessToken, nil
}

// drop forgets tok (the API refused it), so that the next request gets a
// new one.
func (c *client) drop(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// do sends one request to the API at path with query q and, for a POST, the
// JSON body and the Idempotency-Key key. A 401 gets a new token and the
// request once more (apaleo did nothing with it); a 429 (or a 503 with
// Retry-After) holds every request for its Retry-After and is returned. The error, a *callError, is for a
// request that got no HTTP answer.
//
// The rate's wait runs under ctx alone; each exchange (token and request)
// must end within timeout.
func (c *client) do(ctx context.Context, timeout time.Duration, method, path string, q url.Values, body []byte, key string) (reply, error) {
	u := strings.TrimRight(c.o.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for try := 0; ; try++ {
		if err := c.wait(ctx); err != nil {
			return reply{}, &callError{msg: "no request was sent", err: err}
		}
		ectx, cancel := context.WithTimeout(ctx, timeout)
		tok, err := c.bearer(ectx)
		if err != nil {
			cancel()
			return reply{}, err
		}
		r, err := c.send(ectx, method, u, body, key, tok)
		cancel()
		if err != nil {
			return reply{}, err
		}
		switch r.status {
		case http.StatusUnauthorized:
			c.drop(tok)
			if try == 0 {
				c.log.Debug().Str("path", path).Msg("apaleo: the token was refused; asking for a new one")
				continue
			}
		case http.StatusTooManyRequests:
			d := c.holdFor(r.header.Get("Retry-After"))
			c.log.Warn().Str("path", path).Dur("retry_after", d).Msg("apaleo: rate limited (429): waiting before the next request")
		case http.StatusServiceUnavailable:
			if h := r.header.Get("Retry-After"); h != "" {
				c.holdFor(h)
			}
		}
		return r, nil
	}
}

// send makes one HTTP exchange. The body cannot be rewound (GetBody nil):
// net/http's transport then never replays the request on a dead reused
// connection by itself, even with an Idempotency-Key — the engine decides
// every resend.
func (c *client) send(ctx context.Context, method, u string, body []byte, key, tok string) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// Whether the request may have reached apaleo: once the transport
	// gave it a connection, yes. GotConn runs on this call's goroutine
	// before anything is written (the write hooks run on the transport's
	// own goroutine and may come after Do returned), so "no connection"
	// is a certain "not sent".
	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { written.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return reply{}, &callError{msg: "cannot make the request", err: err}
	}
	req.GetBody = nil
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, &callError{msg: "apaleo (" + hostOf(u) + ") did not answer", err: unwrapURL(err), written: written.Load()}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return reply{}, &callError{msg: fmt.Sprintf("apaleo's answer (HTTP %d) was cut off", resp.StatusCode), err: err, written: true}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// unwrapURL drops url.Error's method and URL (the message names the host).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("no answer in time")
		}
		return ue.Err
	}
	return err
}
