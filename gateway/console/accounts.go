package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"callgate/gateway"
)

// Accounts manages the console's users from outside the console (gateway
// user): every change is audited under Actor.
type Accounts struct {
	Users   gateway.Users
	Journal interface {
		Audit(ctx context.Context, a gateway.AuditRecord) error
	}
	Actor string
	Now   func() time.Time // default time.Now
}

func (a Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a Accounts) audit(ctx context.Context, name, action string, detail map[string]string) error {
	detail["user"] = name
	return a.Journal.Audit(ctx, gateway.AuditRecord{Actor: a.Actor, Action: action, Detail: detail})
}

// ValidUserName reports whether s may name a user: 1 to 64 letters, digits,
// . _ - @.
func ValidUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// userState says whether u may log in: active or disabled. A LockedUntil
// left in the record by the lockout of old is not a state: logins are held
// back per address and name, in memory (docs/console-security.md).
func userState(u gateway.User) string {
	if u.Disabled {
		return "disabled"
	}
	return "active"
}

// List writes every user as a table: name, role, state, tokens, created.
func (a Accounts) List(ctx context.Context, w io.Writer) error {
	us, err := a.Users.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tTOKENS\tCREATED")
	for _, u := range us {
		state := userState(u)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.Name, u.Role, state, len(u.Tokens), u.Created.Local().Format("2006-01-02"))
	}
	return tw.Flush()
}

// Add creates the user name with role; password is asked for only once the
// name is known to be free, and returns the password's hash.
func (a Accounts) Add(ctx context.Context, name, role string, password func() ([]byte, error)) error {
	if _, err := a.Users.User(ctx, name); err == nil {
		return fmt.Errorf("there is already a user %q: gateway user passwd sets a new password", name)
	} else if !gateway.IsKind(err, gateway.KindNotFound) {
		return err
	}
	hash, err := password()
	if err != nil {
		return err
	}
	now := a.now()
	if err := a.Users.PutUser(ctx, gateway.User{Name: name, Role: role, PasswordHash: hash, Created: now, Updated: now}); err != nil {
		return err
	}
	return a.audit(ctx, name, "user-add", map[string]string{"role": role})
}

// SetPassword gives the user name a new password (asked for once the user
// is known to exist) and enables it again: no longer disabled or locked.
func (a Accounts) SetPassword(ctx context.Context, name string, password func() ([]byte, error)) error {
	if _, err := a.Users.User(ctx, name); err != nil {
		return err
	}
	hash, err := password()
	if err != nil {
		return err
	}
	now := a.now()
	if _, err := a.Users.UpdateUser(ctx, name, func(u *gateway.User) error {
		u.PasswordHash, u.Disabled, u.FailedLogins, u.LockedUntil, u.Updated = hash, false, 0, time.Time{}, now
		return nil
	}); err != nil {
		return err
	}
	return a.audit(ctx, name, "user-passwd", map[string]string{})
}

// Disable stops the user name logging in and revokes its API tokens.
func (a Accounts) Disable(ctx context.Context, name string) error {
	now := a.now()
	if _, err := a.Users.UpdateUser(ctx, name, func(u *gateway.User) error {
		u.Disabled, u.Tokens, u.Updated = true, nil, now
		return nil
	}); err != nil {
		return err
	}
	return a.audit(ctx, name, "user-disable", map[string]string{})
}

// NewToken issues an API token for the user name, labelled with what it is
// for, and returns it (only its hash is kept).
func (a Accounts) NewToken(ctx context.Context, name, label string) (string, error) {
	token, hash := NewToken()
	now := a.now()
	if _, err := a.Users.UpdateUser(ctx, name, func(u *gateway.User) error {
		if u.Disabled {
			return gateway.Errorf(gateway.KindInvalid, "user %s is disabled", name)
		}
		u.Tokens = append(u.Tokens, gateway.Token{Hash: hash, Label: label, Created: now})
		u.Updated = now
		return nil
	}); err != nil {
		return "", err
	}
	if err := a.audit(ctx, name, "user-token", map[string]string{"label": label}); err != nil {
		return "", err
	}
	return token, nil
}
