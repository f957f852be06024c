package operacloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
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
)

// maxBody bounds what the link reads of one answer.
const maxBody = 8 << 20

// client speaks HTTP to OHIP: the token, the headers, the rate limit and
// the waits OHIP asks for. It never sends a request again by itself unless
// OHIP proved it was not acted on (401 before a token refresh, 429); see
// docs/pms-operacloud.md, "Who sends again".
type client struct {
	o   *settings
	hc  *http.Client
	lim limiter

	tokenMu sync.Mutex // one token request at a time
	mu      sync.Mutex
	token   string
	renewAt time.Time // the token is renewed from then on
	wait    time.Time // OHIP's Retry-After: no request before
}

// reply is the outcome of one exchange with OHIP.
type reply struct {
	status int
	body   []byte
	// sent: the request's headers went on the wire, so OHIP may have
	// acted on it even without an answer.
	sent bool
	// err is why no answer came (status 0).
	err error
	// auth: the error is that OHIP refused the gateway's credentials or
	// token (the link is down until they work).
	auth bool
	// token: the error came from asking for a token (it says so itself).
	token bool
}

func newClient(o *settings) *client {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// No redirect is followed: a charge must reach the address configured
	// or fail, never be sent on by the client (its body cannot be replayed
	// anyway: GetBody is nil).
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{o: o, hc: &c, lim: limiter{n: o.RatePerS, window: time.Second + 50*time.Millisecond}}
}

// limiter lets at most n requests start within any window (a second and
// a margin): OHIP delays the 51st request of a second, and the margin
// absorbs the jitter between leaving here and arriving there.
type limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	starts []time.Time // the last n start times, oldest first
}

func (l *limiter) take(ctx context.Context) error {
	return sleep(ctx, time.Until(l.reserve()))
}

// reserve returns when the next request may start, and counts it then.
func (l *limiter) reserve() time.Time {
	l.mu.Lock()
	at := time.Now()
	if len(l.starts) >= l.n {
		if t := l.starts[len(l.starts)-l.n].Add(l.window); t.After(at) {
			at = t
		}
		l.starts = append(l.starts[:0], l.starts[len(l.starts)-l.n+1:]...)
	}
	l.starts = append(l.starts, at)
	l.mu.Unlock()
	return at
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errAuth wraps the reasons OHIP refused the gateway's credentials.
var errAuth = errors.New("OPERA Cloud refused the gateway's credentials")

// accessToken returns a token, asking OHIP for a new one when there is
// none, it is near its end, or stale (the one OHIP just refused).
func (c *client) accessToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	tok, renew := c.token, c.renewAt
	c.mu.Unlock()
	if tok != "" && tok != stale && time.Now().Before(renew) {
		return tok, nil
	}
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	c.mu.Lock()
	tok, renew = c.token, c.renewAt
	c.mu.Unlock()
	if tok != "" && tok != stale && time.Now().Before(renew) {
		return tok, nil // another caller renewed it meanwhile
	}
	tok, life, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	// Renew a tenth of the lifetime before the end (at most a minute, at
	// least a second), so that no request goes out with a dying token.
	margin := min(max(life/10, time.Second), time.Minute)
	c.mu.Lock()
	c.token, c.renewAt = tok, time.Now().Add(life-margin)
	c.mu.Unlock()
	return tok, nil
}

func (c *client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{}
	if c.o.Username != "" {
		form.Set("grant_type", "password")
		form.Set("username", c.o.Username)
		form.Set("password", c.o.Password)
	} else {
		form.Set("grant_type", "client_credentials")
		form.Set("scope", c.o.Scope)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.AnswerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("the token address %q is not usable: %v", c.o.TokenURL, err)
	}
	req.SetBasicAuth(c.o.ClientID, c.o.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-app-key", c.o.AppKey)
	if c.o.EnterpriseID != "" {
		req.Header.Set("enterpriseId", c.o.EnterpriseID)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("cannot reach OPERA Cloud's token service at %s: %v", c.o.TokenURL, plainErr(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", 0, fmt.Errorf("OPERA Cloud's token service at %s broke off its answer: %v", c.o.TokenURL, plainErr(err))
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		_, text := decodeProblem(resp.StatusCode, b)
		return "", 0, fmt.Errorf("%w (HTTP %d: %s); check pms.auth.client_id, the client secret, pms.auth.app_key and pms.auth.scope with the hotel's OPERA Cloud administrator", errAuth, resp.StatusCode, text)
	default:
		_, text := decodeProblem(resp.StatusCode, b)
		return "", 0, fmt.Errorf("OPERA Cloud's token service answered HTTP %d: %s", resp.StatusCode, text)
	}
	return decodeToken(b)
}

// decodeToken reads OAuth2TokenResponse: the token and its lifetime (an
// hour, OHIP's, when expires_in is missing or beyond a day).
func decodeToken(b []byte) (string, time.Duration, error) {
	var t tokenAnswer
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" {
		return "", 0, fmt.Errorf("OPERA Cloud's token service answered without a token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("OPERA Cloud's token service gave a %q token, not a Bearer token", clip(t.TokenType, 20))
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if t.ExpiresIn <= 0 || t.ExpiresIn > 24*3600 {
		life = time.Hour
	}
	return t.AccessToken, life, nil
}

// forget drops tok if it is still the current token (OHIP refused it).
func (c *client) forget(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// do sends one request to OHIP (path below the base URL, body JSON or
// nil) and returns its answer. It waits for the rate limit and for a
// Retry-After OHIP gave; a 401 makes it renew the token and send once
// more; a 429 makes it wait Retry-After and send again while ctx allows.
// Both answers prove the request was not acted on. Nothing else is ever
// sent twice here.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body []byte) reply {
	stale := ""
	refreshed := false
	for tries := 0; ; tries++ {
		tok, err := c.accessToken(ctx, stale)
		if err != nil {
			return reply{err: err, auth: errors.Is(err, errAuth), token: true}
		}
		if err := c.pause(ctx); err != nil {
			return reply{err: err}
		}
		r := c.once(ctx, method, path, query, body, tok)
		switch {
		case r.status == http.StatusUnauthorized && !refreshed:
			c.forget(tok)
			stale, refreshed = tok, true
			continue
		case r.status == http.StatusUnauthorized:
			_, text := decodeProblem(r.status, r.body)
			r.err, r.auth = fmt.Errorf("%w: it refused a token it had just issued (%s)", errAuth, text), true
			return r.reply
		case r.status == http.StatusTooManyRequests && tries < 20:
			d := retryAfter(r.header)
			c.mu.Lock()
			if w := time.Now().Add(d); w.After(c.wait) {
				c.wait = w
			}
			c.mu.Unlock()
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
				return r.reply // no time left to wait: the caller decides
			}
			continue
		}
		return r.reply
	}
}

// pause waits for the rate limit and for OHIP's last Retry-After.
func (c *client) pause(ctx context.Context) error {
	c.mu.Lock()
	w := c.wait
	c.mu.Unlock()
	if err := sleep(ctx, time.Until(w)); err != nil {
		return err
	}
	return c.lim.take(ctx)
}

// retryAfter reads Retry-After (seconds or an HTTP date); 1 s when absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, 5*time.Minute)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), 5*time.Minute)
	}
	return time.Second
}

// once is one HTTP exchange.
func (c *client) once(ctx context.Context, method, path string, query url.Values, body []byte, tok string) replyH {
	u := c.o.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return replyH{reply: reply{err: fmt.Errorf("the OPERA Cloud address %q is not usable: %v", u, err)}}
	}
	if body != nil {
		// A body that cannot be rewound (GetBody nil): net/http cannot
		// send this request again by itself on a dead connection.
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = nil
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("authorization", "Bearer "+tok)
	req.Header.Set("x-app-key", c.o.AppKey)
	req.Header.Set("x-hotelid", c.o.Hotel)
	req.Header.Set("x-request-id", requestID())
	if c.o.ExternalSystem != "" {
		req.Header.Set("x-externalsystem", c.o.ExternalSystem)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return replyH{reply: reply{sent: sent.Load(), err: plainErr(err)}}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return replyH{reply: reply{sent: true, err: fmt.Errorf("the answer broke off: %v", plainErr(err))}}
	}
	return replyH{reply: reply{status: resp.StatusCode, body: b, sent: true}, header: resp.Header}
}

// replyH is a reply with its headers (for Retry-After).
type replyH struct {
	reply
	header http.Header
}

// requestID is a random UUID for x-request-id (OHIP logs it).
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// plainErr strips net/http's "Post \"url\": " prefix.
func plainErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("no answer in time")
		}
		err = ue.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the connection closed before the answer came")
	}
	return err
}
