package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
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

// Login lockout: after maxFailures failed logins in a row a user is locked
// for lockFor; every IP may try ipBurst logins, then one per ipEvery.
const (
	maxFailures = 5
	lockFor     = 15 * time.Minute
	ipBurst     = 10
	ipEvery     = 6 * time.Second
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

// session is one logged-in browser.
type session struct {
	user, role string
	expires    time.Time
}

// sessions is the server-side session store, in memory: a restart logs
// everybody out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]session{}, ttl: ttl, now: now}
}

func (ss *sessions) create(user, role string) string {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, v := range ss.m {
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[id] = session{user: user, role: role, expires: now.Add(ss.ttl)}
	return id
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
	v.expires = ss.now().Add(ss.ttl)
	ss.m[id] = v
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

// loginLimiter limits login attempts per client address: a token bucket
// of ipBurst, refilled one every ipEvery.
type loginLimiter struct {
	mu  sync.Mutex
	m   map[string]bucket
	now func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{m: map[string]bucket{}, now: now}
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

// requireSession lets through requests with a live session of a role at
// least role; others go to the login page (GET) or get 401/403.
func (s *Server) requireSession(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ck, err := c.Cookie(sessionCookie)
			var sess session
			ok := false
			if err == nil {
				sess, ok = s.sessions.get(ck.Value)
			}
			if !ok {
				if c.Request().Method == http.MethodGet {
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

// login checks a user's password; failures count towards a lockout, which
// is audited.
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
	if !s.logins.allow(c.RealIP()) {
		return fail(http.StatusTooManyRequests, "too many login attempts from this address: wait a minute")
	}
	if f.Username == "" || f.Password == "" || len(f.Username) > 64 || len(f.Password) > 200 {
		return fail(http.StatusBadRequest, "enter a user name and a password")
	}
	ctx := c.Request().Context()
	u, err := s.o.Users.User(ctx, f.Username)
	if gateway.IsKind(err, gateway.KindNotFound) {
		// The same work and answer as a wrong password.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(f.Password))
		return fail(http.StatusUnauthorized, "wrong user name or password")
	}
	if err != nil {
		return err
	}
	now := s.o.Now()
	if u.Disabled {
		return fail(http.StatusUnauthorized, "wrong user name or password")
	}
	if now.Before(u.LockedUntil) {
		return fail(http.StatusForbidden, "this user is locked after repeated failed logins until "+s.wall(u.LockedUntil)+": ask an admin")
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(f.Password)) != nil {
		locked := false
		_, err := s.o.Users.UpdateUser(ctx, u.Name, func(u *gateway.User) error {
			u.FailedLogins++
			u.Updated = now
			if u.FailedLogins >= maxFailures {
				u.LockedUntil, u.FailedLogins, locked = now.Add(lockFor), 0, true
			}
			return nil
		})
		if err != nil {
			return err
		}
		if locked {
			s.audit(ctx, "gateway", "login-lockout", "repeated failed logins", map[string]string{"user": u.Name, "ip": c.RealIP(), "until": s.o.Now().Add(lockFor).UTC().Format(time.RFC3339)})
			return fail(http.StatusForbidden, "too many failed logins: this user is locked for 15 minutes")
		}
		return fail(http.StatusUnauthorized, "wrong user name or password")
	}
	if u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		if _, err := s.o.Users.UpdateUser(ctx, u.Name, func(u *gateway.User) error {
			u.FailedLogins, u.LockedUntil, u.Updated = 0, time.Time{}, now
			return nil
		}); err != nil {
			return err
		}
	}
	id := s.sessions.create(u.Name, u.Role)
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.o.TLS, SameSite: http.SameSiteStrictMode})
	s.o.Logger.Info().Str("user", u.Name).Str("ip", c.RealIP()).Msg("console login")
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		s.sessions.drop(ck.Value)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.o.TLS, SameSite: http.SameSiteStrictMode})
	return c.Redirect(http.StatusSeeOther, "/login")
}

// dummyHash is compared against for unknown users, so that the answer
// takes as long as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no user has this password"), bcrypt.DefaultCost)

// audit writes an audit record, logging a failure.
func (s *Server) audit(ctx context.Context, actor, action, reason string, detail map[string]string) {
	if err := s.o.Journal.Audit(ctx, gateway.AuditRecord{Actor: actor, Action: action, Reason: reason, Detail: detail}); err != nil {
		s.o.Logger.Error().Err(err).Str("action", action).Msg("console: audit record not written")
	}
}

var errNoRows = errors.New("console: nothing selected")
