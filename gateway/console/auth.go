package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"callgate/gateway"
)

// The roles, each allowed what the one before is and more.
const (
	roleFrontdesk = "frontdesk" // calls, call detail (numbers masked), dashboard
	roleAuditor   = "auditor"   // also full numbers, exceptions and their actions, export, audit log
	roleAdmin     = "admin"     // also users, resync, tariff reload
)

// Roles lists the roles in order of rights.
var Roles = []string{roleFrontdesk, roleAuditor, roleAdmin}

func rank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool { return rank(r) > 0 }

// Login limits (docs/console-security.md): every address may try
// ipBurst logins, then one per ipEvery; and each (address, user name) pair
// that fails freeFailures times in a row waits before its next try, a wait
// that doubles with each further failure up to maxBackoff. There is no lock
// of the user itself: failures from one address never keep the user out
// from another.
const (
	ipBurst      = 10
	ipEvery      = 6 * time.Second
	freeFailures = 4
	firstBackoff = 30 * time.Second
	maxBackoff   = 15 * time.Minute
	// forgetAfter is how long a pair's failures are remembered after the
	// last one.
	forgetAfter = time.Hour
	// maxPairs bounds the memory of failures; past it the oldest are
	// forgotten first.
	maxPairs = 10000
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// HashPassword returns the bcrypt hash of a password.
func HashPassword(password string) ([]byte, error) {
	if len(password) < MinPasswordLength {
		return nil, gateway.Errorf(gateway.KindInvalid, "a password needs at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return nil, gateway.Errorf(gateway.KindInvalid, "a password may have at most 72 bytes (bcrypt's limit)")
	}
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// NewToken returns a new API token and the hash kept in the user's record.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = "cg_" + base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token)
}

// TokenHash is the hash under which an API token is stored.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// RandomPassword returns a password for a one-time login (the demo's).
func RandomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session is one browser: logged in (user set), or not yet (a login
// form's session, which only holds the login form's CSRF token).
type session struct {
	user, role string
	// csrf is the token every form of this session carries: made with the
	// session, so a new one at login (a new session) and none after
	// logout (the session is gone).
	csrf    string
	expires time.Time
}

// loggedIn reports whether the session is a user's, not a login form's.
func (v session) loggedIn() bool { return v.user != "" }

// sessions is the server-side session store, in memory: a restart logs
// everybody out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session
	ttl time.Duration
	now func() time.Time
}

// Login forms' sessions live at most anonTTL, and at most maxAnon of them
// are kept (the oldest go first): anyone may ask for the login page.
const (
	anonTTL = 30 * time.Minute
	maxAnon = 10000
)

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]session{}, ttl: ttl, now: now}
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user ("" for a login form's) with a new id
// and a new CSRF token.
func (ss *sessions) create(user, role string) (id string, v session) {
	id = randomID()
	ttl := ss.ttl
	if user == "" {
		ttl = min(ttl, anonTTL)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	anon := 0
	var oldest string
	for k, v := range ss.m {
		if now.After(v.expires) {
			delete(ss.m, k)
			continue
		}
		if !v.loggedIn() {
			anon++
			if oldest == "" || v.expires.Before(ss.m[oldest].expires) {
				oldest = k
			}
		}
	}
	if user == "" && anon >= maxAnon {
		delete(ss.m, oldest)
	}
	v = session{user: user, role: role, csrf: randomID(), expires: now.Add(ttl)}
	ss.m[id] = v
	return id, v
}

func (ss *sessions) get(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	v, ok := ss.m[id]
	if !ok {
		return session{}, false
	}
	if ss.now().After(v.expires) {
		delete(ss.m, id)
		return session{}, false
	}
	if v.loggedIn() {
		v.expires = ss.now().Add(ss.ttl)
		ss.m[id] = v
	}
	return v, true
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// dropUser ends every session of a user (disabled, password changed).
func (ss *sessions) dropUser(user string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if v.user == user {
			delete(ss.m, k)
		}
	}
}

// loginLimiter limits login attempts: per client address a token bucket of
// ipBurst, refilled one every ipEvery; per (address, user name) a back-off
// after freeFailures failures in a row. Both are in memory and keyed on
// the name as typed, whether or not such a user exists, so that neither
// tells who has an account.
type loginLimiter struct {
	mu    sync.Mutex
	m     map[string]bucket
	pairs map[pairKey]failures
	now   func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

type pairKey struct{ ip, user string }

type failures struct {
	n     int       // failures in a row
	last  time.Time // the last failure
	until time.Time // no try before
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{m: map[string]bucket{}, pairs: map[pairKey]failures{}, now: now}
}

func (l *loginLimiter) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.m[ip]
	if !ok {
		b = bucket{tokens: ipBurst, at: now}
	}
	b.tokens = min(ipBurst, b.tokens+now.Sub(b.at).Seconds()/ipEvery.Seconds())
	b.at = now
	if b.tokens < 1 {
		l.m[ip] = b
		return false
	}
	b.tokens--
	l.m[ip] = b
	if len(l.m) > 10000 { // forget the oldest rather than grow without end
		for k := range l.m {
			delete(l.m, k)
			break
		}
	}
	return true
}

// wait returns when the pair may try again; zero when it may now.
func (l *loginLimiter) wait(ip, user string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.pairs[pairKey{ip, user}]
	if !ok || !l.now().Before(f.until) {
		return time.Time{}
	}
	return f.until
}

// failed counts a failure of the pair and returns the back-off it starts
// (zero for none).
func (l *loginLimiter) failed(ip, user string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := pairKey{ip, user}
	f, ok := l.pairs[k]
	if !ok || now.Sub(f.last) > forgetAfter {
		f = failures{}
	}
	if !ok && len(l.pairs) >= maxPairs {
		l.forget(now)
	}
	f.n++
	f.last = now
	var d time.Duration
	if f.n > freeFailures {
		d = maxBackoff
		if s := f.n - freeFailures - 1; s < 10 {
			d = min(maxBackoff, firstBackoff<<s)
		}
		f.until = now.Add(d)
	}
	l.pairs[k] = f
	return d
}

// forget drops the pairs not heard of for forgetAfter, and if that frees
// nothing the one with the oldest failure.
func (l *loginLimiter) forget(now time.Time) {
	var oldest pairKey
	var at time.Time
	for k, f := range l.pairs {
		if now.Sub(f.last) > forgetAfter && !now.Before(f.until) {
			delete(l.pairs, k)
			continue
		}
		if at.IsZero() || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	if len(l.pairs) >= maxPairs {
		delete(l.pairs, oldest)
	}
}

// succeeded forgets the pair's failures.
func (l *loginLimiter) succeeded(ip, user string) {
	l.mu.Lock()
	delete(l.pairs, pairKey{ip, user})
	l.mu.Unlock()
}

const sessionCookie = "callgate_session"

// who is the person behind a request.
type who struct {
	user, role string
}

func (w who) can(role string) bool { return rank(w.role) >= rank(role) }

func current(c echo.Context) who {
	w, _ := c.Get("who").(who)
	return w
}

// The context keys of the request's session and its CSRF token.
const (
	ctxSession = "session"
	ctxCSRF    = "csrf"
)

// csrfMode is how the CSRF check treats a route without a session.
type csrfMode int

const (
	csrfPage   csrfMode = iota // the session's token or nothing
	csrfLogin                  // a login form's session is made for a page read
	csrfLogout                 // no session, nothing to check
)

// setSessionCookie sends the session's cookie; id "" removes it.
func (s *Server) setSessionCookie(c echo.Context, id string) {
	ck := &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.o.TLS, SameSite: http.SameSiteStrictMode}
	if id == "" {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

// csrf checks the CSRF token of every request that changes something
// (docs/console-security.md): the form's _csrf must be the token
// of the server-side session named by the request's cookie, so that a
// cookie and token made up together are refused, and a token dies with
// its session (logout, a new login). A page read gets the session's token
// for its forms; on the login page (csrfLogin) a browser without a
// session gets a login form's session. A logout without a session (it
// expired) has nothing to protect and goes through (csrfLogout).
func (s *Server) csrf(mode csrfMode) echo.MiddlewareFunc {
	anon := mode == csrfLogin
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var sess session
			ok := false
			if ck, err := c.Cookie(sessionCookie); err == nil {
				sess, ok = s.sessions.get(ck.Value)
				if ok {
					c.Set(ctxSession, ck.Value)
				}
			}
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead:
				if !ok && anon {
					var id string
					id, sess = s.sessions.create("", "")
					s.setSessionCookie(c, id)
					c.Set(ctxSession, id)
					ok = true
				}
				if ok {
					c.Set(ctxCSRF, sess.csrf)
				}
				return next(c)
			}
			if !ok && mode == csrfLogout {
				return next(c)
			}
			token := c.FormValue("_csrf")
			if token == "" {
				return echo.NewHTTPError(http.StatusBadRequest, "the form lacks its CSRF token: reload the page and send it again")
			}
			if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) != 1 {
				return echo.NewHTTPError(http.StatusForbidden, "the form's CSRF token is not this session's (expired, or from another login): reload the page and send it again")
			}
			c.Set(ctxCSRF, sess.csrf)
			return next(c)
		}
	}
}

// requireSession lets through requests with a live session of a role at
// least role; others go to the login page (GET, HEAD) or get 401/403.
func (s *Server) requireSession(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ck, err := c.Cookie(sessionCookie)
			var sess session
			ok := false
			if err == nil {
				sess, ok = s.sessions.get(ck.Value)
			}
			if !ok || !sess.loggedIn() {
				if m := c.Request().Method; (m == http.MethodGet || m == http.MethodHead) && !strings.HasPrefix(c.Request().URL.Path, "/api/") {
					return c.Redirect(http.StatusSeeOther, "/login")
				}
				return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
			}
			c.Set("who", who{sess.user, sess.role})
			if rank(sess.role) < rank(role) {
				return echo.NewHTTPError(http.StatusForbidden, "this page is for the "+role+" role and above; you are "+sess.role)
			}
			return next(c)
		}
	}
}

type loginForm struct {
	Username string `form:"username"`
	Password string `form:"password"`
}

func (s *Server) loginForm(c echo.Context) error {
	return c.Render(http.StatusOK, "login", s.view(c, "Log in"))
}

// badLogin is the one answer to every failed login: an unknown user, a
// disabled one, a wrong password.
const badLogin = "wrong user name or password"

// compareHash is bcrypt's check, a variable so that a test can count the
// work done.
var compareHash = bcrypt.CompareHashAndPassword

// login checks a user's password (docs/console-security.md).
// Unknown and disabled users get the same answer and the same bcrypt work
// as a wrong password; failures back off the (address, name) pair, audited
// when a back-off starts; no failure from elsewhere keeps a user out.
func (s *Server) login(c echo.Context) error {
	var f loginForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the login form could not be read")
	}
	fail := func(code int, msg string) error {
		v := s.view(c, "Log in")
		v.Message, v.Status = msg, code
		v.Data = f.Username
		return c.Render(code, "login", v)
	}
	ip := c.RealIP()
	if !s.logins.allow(ip) {
		return fail(http.StatusTooManyRequests, "too many login attempts from this address: wait a minute")
	}
	if f.Username == "" || f.Password == "" || len(f.Username) > 64 || len(f.Password) > 200 {
		return fail(http.StatusBadRequest, "enter a user name and a password")
	}
	if until := s.logins.wait(ip, f.Username); !until.IsZero() {
		return fail(http.StatusTooManyRequests, "too many failed logins with this name from this address: try again after "+s.wall(until))
	}
	ctx := c.Request().Context()
	u, err := s.lookupUser(ctx, f.Username)
	if err != nil && !gateway.IsKind(err, gateway.KindNotFound) {
		return err
	}
	hash := dummyHash
	known := err == nil && !u.Disabled
	if known {
		hash = u.PasswordHash
	}
	if compareHash(hash, []byte(f.Password)) != nil || !known {
		if d := s.logins.failed(ip, f.Username); d > 0 {
			// A name that is no user's is not written down: people type
			// their password into the name field.
			name := "(no such user)"
			if err == nil {
				name = u.Name
			}
			s.audit(ctx, "gateway", "login-backoff", "repeated failed logins", map[string]string{"user": name, "ip": ip,
				"until": s.o.Now().Add(d).UTC().Format(time.RFC3339)})
		}
		return fail(http.StatusUnauthorized, badLogin)
	}
	s.logins.succeeded(ip, f.Username)
	if id, ok := c.Get(ctxSession).(string); ok {
		s.sessions.drop(id) // the login form's session, or an earlier login's
	}
	id, _ := s.sessions.create(u.Name, u.Role)
	s.setSessionCookie(c, id)
	s.o.Logger.Info().Str("user", u.Name).Str("ip", ip).Msg("console login")
	return c.Redirect(http.StatusSeeOther, "/")
}

// logout ends the session and its CSRF token.
func (s *Server) logout(c echo.Context) error {
	if id, ok := c.Get(ctxSession).(string); ok {
		s.sessions.drop(id)
	}
	s.setSessionCookie(c, "")
	return c.Redirect(http.StatusSeeOther, "/login")
}

// dummyHash is compared against for unknown and disabled users, so that
// the answer takes as long as for a wrong password: the same cost as
// HashPassword's.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no user has this password"), bcrypt.DefaultCost)

// audit writes an audit record, logging a failure.
func (s *Server) audit(ctx context.Context, actor, action, reason string, detail map[string]string) {
	if s.o.Journal == nil {
		// The chain console (chain.go) has no journal: its audit records
		// go to the central's log.
		s.o.Logger.Warn().Str("actor", actor).Str("action", action).Str("reason", reason).Interface("detail", detail).Msg("chain console audit")
		return
	}
	if err := s.o.Journal.Audit(ctx, gateway.AuditRecord{Actor: actor, Action: action, Reason: reason, Detail: detail}); err != nil {
		s.o.Logger.Error().Err(err).Str("action", action).Msg("console: audit record not written")
	}
}

var errNoRows = errors.New("console: nothing selected")
