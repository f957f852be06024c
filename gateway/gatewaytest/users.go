package gatewaytest

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"

	"callgate/gateway"
)

// User returns a user; see gateway.Users.
func (j *Journal) User(ctx context.Context, name string) (gateway.User, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	u, ok := j.users[name]
	if !ok {
		return gateway.User{}, gateway.Errorf(gateway.KindNotFound, "there is no user %q", name)
	}
	return copyUser(u), nil
}

// UserByToken returns the holder of an API token; see gateway.Users.
func (j *Journal) UserByToken(ctx context.Context, tokenHash []byte) (gateway.User, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, u := range j.users {
		for _, t := range u.Tokens {
			if bytes.Equal(t.Hash, tokenHash) {
				return copyUser(u), nil
			}
		}
	}
	return gateway.User{}, gateway.Errorf(gateway.KindNotFound, "no user holds that API token")
}

// Users returns every user by name; see gateway.Users.
func (j *Journal) Users(ctx context.Context) ([]gateway.User, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]gateway.User, 0, len(j.users))
	for _, u := range j.users {
		out = append(out, copyUser(u))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// PutUser creates or replaces a user; see gateway.Users.
func (j *Journal) PutUser(ctx context.Context, u gateway.User) error {
	return j.write(ctx, "user", func() error {
		if old, ok := j.users[u.Name]; ok && u.Created.IsZero() {
			u.Created = old.Created
		}
		return j.putUser(u)
	})
}

// UpdateUser changes a user in one step; see gateway.Users.
func (j *Journal) UpdateUser(ctx context.Context, name string, fn func(*gateway.User) error) (gateway.User, error) {
	var out gateway.User
	err := j.write(ctx, "user", func() error {
		old, ok := j.users[name]
		if !ok {
			return gateway.Errorf(gateway.KindNotFound, "there is no user %q", name)
		}
		u := copyUser(old)
		if err := fn(&u); err != nil {
			return err
		}
		if u.Name != name {
			return gateway.Errorf(gateway.KindInvalid, "a user cannot be renamed (%q to %q): create the new one and delete the old", name, u.Name)
		}
		if err := j.putUser(u); err != nil {
			return err
		}
		out = copyUser(j.users[name])
		return nil
	})
	if err != nil {
		return gateway.User{}, err
	}
	return out, nil
}

func (j *Journal) putUser(u gateway.User) error {
	if strings.TrimSpace(u.Name) == "" || strings.TrimSpace(u.Role) == "" {
		return gateway.Errorf(gateway.KindInvalid, "a user needs a name and a role")
	}
	seen := map[string]bool{}
	for _, t := range u.Tokens {
		if len(t.Hash) == 0 {
			return gateway.Errorf(gateway.KindInvalid, "user %q: an API token has no hash", u.Name)
		}
		held := false
		for _, other := range j.users {
			if other.Name != u.Name && slices.ContainsFunc(other.Tokens, func(o gateway.Token) bool { return bytes.Equal(o.Hash, t.Hash) }) {
				held = true
			}
		}
		if held || seen[string(t.Hash)] {
			return gateway.Errorf(gateway.KindInvalid, "user %q: an API token is held already: make a new one", u.Name)
		}
		seen[string(t.Hash)] = true
	}
	now := j.now()
	if u.Created.IsZero() {
		u.Created = now
	}
	u.Updated = now
	j.users[u.Name] = copyUser(u)
	return nil
}

// DeleteUser removes a user; see gateway.Users.
func (j *Journal) DeleteUser(ctx context.Context, name string) error {
	return j.write(ctx, "user", func() error {
		if _, ok := j.users[name]; !ok {
			return gateway.Errorf(gateway.KindNotFound, "there is no user %q", name)
		}
		delete(j.users, name)
		return nil
	})
}

func copyUser(u gateway.User) gateway.User {
	u.PasswordHash = slices.Clone(u.PasswordHash)
	u.Tokens = slices.Clone(u.Tokens)
	for i := range u.Tokens {
		u.Tokens[i].Hash = slices.Clone(u.Tokens[i].Hash)
	}
	return u
}
