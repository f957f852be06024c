package console

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type userRow struct {
	Name, Role, State, Created string
	Tokens                     int
	Disabled                   bool
}

type usersPage struct {
	Rows  []userRow
	Roles []string
	Token string // a token just issued, shown once
	For   string
}

func (s *Server) usersData(c echo.Context) (usersPage, error) {
	us, err := s.o.Users.Users(c.Request().Context())
	if err != nil {
		return usersPage{}, err
	}
	p := usersPage{Roles: Roles}
	for _, u := range us {
		st := userState(u)
		p.Rows = append(p.Rows, userRow{Name: u.Name, Role: u.Role, State: st, Created: s.wall(u.Created), Tokens: len(u.Tokens), Disabled: u.Disabled})
	}
	return p, nil
}

func (s *Server) users(c echo.Context) error {
	p, err := s.usersData(c)
	if err != nil {
		return err
	}
	v := s.view(c, "Users")
	v.Nav, v.Data = "users", p
	return c.Render(http.StatusOK, "users", v)
}

type userForm struct {
	Name     string `form:"name"`
	Role     string `form:"role"`
	Password string `form:"password"`
	Again    string `form:"again"`
	Do       string `form:"do"` // add, passwd, disable, token
}

var userName = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// userAction adds a user, sets a password, disables a user or issues an
// API token: admins only, each audited.
func (s *Server) userAction(c echo.Context) error {
	var f userForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	if !userName.MatchString(f.Name) {
		return echo.NewHTTPError(http.StatusBadRequest, "a user name has 1 to 64 letters, digits, . _ - @")
	}
	w := current(c)
	ctx := c.Request().Context()
	now := s.o.Now()
	password := func() ([]byte, error) {
		if f.Password != f.Again {
			return nil, echo.NewHTTPError(http.StatusBadRequest, "the two passwords differ")
		}
		h, err := HashPassword(f.Password)
		if gateway.IsKind(err, gateway.KindInvalid) {
			return nil, echo.NewHTTPError(http.StatusBadRequest, gateway.Message(err))
		}
		return h, err
	}
	var notice, token string
	detail := map[string]string{"user": f.Name}
	switch f.Do {
	case "add":
		if !ValidRole(f.Role) {
			return echo.NewHTTPError(http.StatusBadRequest, "choose a role: frontdesk, auditor or admin")
		}
		if _, err := s.o.Users.User(ctx, f.Name); err == nil {
			return echo.NewHTTPError(http.StatusConflict, "there is already a user "+strconv.Quote(f.Name))
		} else if !gateway.IsKind(err, gateway.KindNotFound) {
			return err
		}
		h, err := password()
		if err != nil {
			return err
		}
		if err := s.o.Users.PutUser(ctx, gateway.User{Name: f.Name, Role: f.Role, PasswordHash: h, Created: now, Updated: now}); err != nil {
			return err
		}
		detail["role"] = f.Role
		notice = "user " + f.Name + " added as " + f.Role
	case "passwd":
		h, err := password()
		if err != nil {
			return err
		}
		if _, err := s.o.Users.UpdateUser(ctx, f.Name, func(u *gateway.User) error {
			u.PasswordHash, u.Disabled, u.FailedLogins, u.LockedUntil, u.Updated = h, false, 0, time.Time{}, now
			return nil
		}); err != nil {
			return err
		}
		s.sessions.dropUser(f.Name)
		notice = "password of " + f.Name + " set; the user is enabled and unlocked"
	case "disable":
		if f.Name == w.user {
			return echo.NewHTTPError(http.StatusBadRequest, "you cannot disable yourself")
		}
		if _, err := s.o.Users.UpdateUser(ctx, f.Name, func(u *gateway.User) error {
			u.Disabled, u.Tokens, u.Updated = true, nil, now
			return nil
		}); err != nil {
			return err
		}
		s.sessions.dropUser(f.Name)
		notice = "user " + f.Name + " disabled: logged out, API tokens revoked"
	case "token":
		tok, hash := NewToken()
		if _, err := s.o.Users.UpdateUser(ctx, f.Name, func(u *gateway.User) error {
			if u.Disabled {
				return gateway.Errorf(gateway.KindInvalid, "user %s is disabled", f.Name)
			}
			u.Tokens = append(u.Tokens, gateway.Token{Hash: hash, Label: "console", Created: now})
			u.Updated = now
			return nil
		}); err != nil {
			return err
		}
		token = tok
		notice = "API token issued for " + f.Name + ": copy it now, it is not shown again"
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "unknown user action")
	}
	s.audit(ctx, w.user, "user-"+f.Do, "from the console", detail)
	p, err := s.usersData(c)
	if err != nil {
		return err
	}
	p.Token, p.For = token, f.Name
	v := s.view(c, "Users")
	v.Nav, v.Notice, v.Data = "users", notice, p
	return c.Render(http.StatusOK, "users", v)
}
