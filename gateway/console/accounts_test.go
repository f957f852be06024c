package console_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// accountsStore is gateway.Users and the audit log in memory.
type accountsStore struct {
	users map[string]gateway.User
	audit []gateway.AuditRecord
}

func (s *accountsStore) User(_ context.Context, name string) (gateway.User, error) {
	u, ok := s.users[name]
	if !ok {
		return u, gateway.Errorf(gateway.KindNotFound, "no user %s", name)
	}
	return u, nil
}
func (s *accountsStore) UserByToken(context.Context, []byte) (gateway.User, error) {
	return gateway.User{}, gateway.Errorf(gateway.KindNotFound, "no token")
}
func (s *accountsStore) Users(context.Context) ([]gateway.User, error) {
	var out []gateway.User
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b gateway.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
func (s *accountsStore) PutUser(_ context.Context, u gateway.User) error {
	s.users[u.Name] = u
	return nil
}
func (s *accountsStore) UpdateUser(ctx context.Context, name string, fn func(*gateway.User) error) (gateway.User, error) {
	u, err := s.User(ctx, name)
	if err != nil {
		return u, err
	}
	if err := fn(&u); err != nil {
		return gateway.User{}, err
	}
	s.users[name] = u
	return u, nil
}
func (s *accountsStore) DeleteUser(_ context.Context, name string) error {
	delete(s.users, name)
	return nil
}
func (s *accountsStore) Audit(_ context.Context, a gateway.AuditRecord) error {
	s.audit = append(s.audit, a)
	return nil
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 14, 0, 0, 0, time.Local)
	st := &accountsStore{users: map[string]gateway.User{}}
	acc := console.Accounts{Users: st, Journal: st, Actor: "cli", Now: func() time.Time { return now }}
	asked := 0
	password := func() ([]byte, error) { asked++; return []byte("hash"), nil }

	if err := acc.Add(ctx, "night", "frontdesk", password); err != nil {
		t.Fatal(err)
	}
	// A name taken is refused before the password is asked for.
	if err := acc.Add(ctx, "night", "admin", password); err == nil || !strings.Contains(err.Error(), `there is already a user "night"`) || asked != 1 {
		t.Errorf("a second night: %v (password asked %d times)", err, asked)
	}
	// So is a password for nobody.
	if err := acc.SetPassword(ctx, "nobody", password); !gateway.IsKind(err, gateway.KindNotFound) || asked != 1 {
		t.Errorf("a password for nobody: %v", err)
	}
	token, err := acc.NewToken(ctx, "night", "export")
	if err != nil || token == "" || len(st.users["night"].Tokens) != 1 || st.users["night"].Tokens[0].Label != "export" {
		t.Fatalf("token %q %v: %+v", token, err, st.users["night"])
	}
	if err := acc.Disable(ctx, "night"); err != nil || !st.users["night"].Disabled || len(st.users["night"].Tokens) != 0 {
		t.Errorf("disable: %v %+v", err, st.users["night"])
	}
	if _, err := acc.NewToken(ctx, "night", "again"); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a token for a disabled user: %v", err)
	}
	u := st.users["night"]
	u.FailedLogins, u.LockedUntil = 5, now.Add(time.Hour)
	st.users["night"] = u
	if err := acc.SetPassword(ctx, "night", password); err != nil {
		t.Fatal(err)
	}
	if u := st.users["night"]; u.Disabled || u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		t.Errorf("a new password leaves the user %+v", u)
	}
	var actions []string
	for _, a := range st.audit {
		if a.Actor != "cli" || a.Detail["user"] != "night" {
			t.Errorf("audit %+v", a)
		}
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, " ") != "user-add user-token user-disable user-passwd" {
		t.Errorf("audited %v", actions)
	}

	acc.Add(ctx, "admin", "admin", password)
	u = st.users["admin"]
	u.LockedUntil = now.Add(30 * time.Minute)
	st.users["admin"] = u
	var list strings.Builder
	if err := acc.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "active") /* an old lock in the record is no state */ || !strings.Contains(lines[2], "active") {
		t.Errorf("list:\n%s", list.String())
	}
}

func TestValidUserName(t *testing.T) {
	for name, want := range map[string]bool{"night": true, "j.doe@hotel": true, "a_b-c": true, "": false, "two words": false,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false, "ünï": false} {
		t.Run(name, func(t *testing.T) {
			if got := console.ValidUserName(name); got != want {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}
