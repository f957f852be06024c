package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// userJSON is a user as bucket "users" keeps it.
type userJSON struct {
	Name         string      `json:"name"`
	Role         string      `json:"role"`
	PasswordHash []byte      `json:"password_hash,omitempty"`
	FailedLogins int         `json:"failed_logins,omitempty"`
	LockedUntil  time.Time   `json:"locked_until,omitzero"`
	Disabled     bool        `json:"disabled,omitempty"`
	Tokens       []tokenJSON `json:"tokens,omitempty"`
	Created      time.Time   `json:"created"`
	Updated      time.Time   `json:"updated"`
}

type tokenJSON struct {
	Hash    []byte    `json:"hash"`
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
}

func toUser(u userJSON) gateway.User {
	out := gateway.User{Name: u.Name, Role: u.Role, PasswordHash: u.PasswordHash, FailedLogins: u.FailedLogins,
		LockedUntil: u.LockedUntil, Disabled: u.Disabled, Created: u.Created, Updated: u.Updated}
	for _, t := range u.Tokens {
		out.Tokens = append(out.Tokens, gateway.Token{Hash: t.Hash, Label: t.Label, Created: t.Created})
	}
	return out
}

func fromUser(u gateway.User) userJSON {
	out := userJSON{Name: u.Name, Role: u.Role, PasswordHash: u.PasswordHash, FailedLogins: u.FailedLogins,
		LockedUntil: u.LockedUntil.UTC(), Disabled: u.Disabled, Created: u.Created.UTC(), Updated: u.Updated.UTC()}
	if u.LockedUntil.IsZero() {
		out.LockedUntil = time.Time{}
	}
	for _, t := range u.Tokens {
		out.Tokens = append(out.Tokens, tokenJSON{Hash: t.Hash, Label: t.Label, Created: t.Created.UTC()})
	}
	return out
}

func getUser(tx *bolt.Tx, name string) (gateway.User, error) {
	v := tx.Bucket(bUsers).Get([]byte(name))
	if v == nil {
		return gateway.User{}, gateway.Errorf(gateway.KindNotFound, "there is no user %q", name)
	}
	var u userJSON
	if err := json.Unmarshal(v, &u); err != nil {
		return gateway.User{}, gateway.Errorf(gateway.KindInternal, "user %q: the record is damaged: %w", name, err)
	}
	return toUser(u), nil
}

// User returns the user called name; see gateway.Users.
func (j *Journal) User(ctx context.Context, name string) (gateway.User, error) {
	var u gateway.User
	err := j.view(ctx, "read a user", func(tx *bolt.Tx) (err error) {
		u, err = getUser(tx, name)
		return err
	})
	return u, err
}

// UserByToken returns the user holding an API token; see gateway.Users.
func (j *Journal) UserByToken(ctx context.Context, hash []byte) (gateway.User, error) {
	var u gateway.User
	err := j.view(ctx, "read a user", func(tx *bolt.Tx) (err error) {
		name := tx.Bucket(bTokens).Get(hash)
		if len(hash) == 0 || name == nil {
			return gateway.Errorf(gateway.KindNotFound, "no user holds that API token")
		}
		u, err = getUser(tx, string(name))
		return err
	})
	return u, err
}

// Users returns every user by name; see gateway.Users.
func (j *Journal) Users(ctx context.Context) ([]gateway.User, error) {
	var out []gateway.User
	err := j.view(ctx, "list users", func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, _ []byte) error {
			u, err := getUser(tx, string(k))
			out = append(out, u)
			return err
		})
	})
	return out, err
}

// PutUser creates or replaces a user; see gateway.Users.
func (j *Journal) PutUser(ctx context.Context, u gateway.User) error {
	return j.update(ctx, "store a user", func(tx *bolt.Tx) error {
		if old, err := getUser(tx, u.Name); err == nil {
			if u.Created.IsZero() {
				u.Created = old.Created
			}
		} else if !gateway.IsKind(err, gateway.KindNotFound) {
			return err
		}
		return j.putUser(tx, u)
	})
}

// UpdateUser changes a user in one transaction; see gateway.Users.
func (j *Journal) UpdateUser(ctx context.Context, name string, fn func(*gateway.User) error) (gateway.User, error) {
	var out gateway.User
	err := j.update(ctx, "update a user", func(tx *bolt.Tx) error {
		u, err := getUser(tx, name)
		if err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
		if u.Name != name {
			return gateway.Errorf(gateway.KindInvalid, "a user cannot be renamed (%q to %q): create the new one and delete the old", name, u.Name)
		}
		if err := j.putUser(tx, u); err != nil {
			return err
		}
		out, err = getUser(tx, name)
		return err
	})
	if err != nil {
		return gateway.User{}, err
	}
	return out, nil
}

func (j *Journal) putUser(tx *bolt.Tx, u gateway.User) error {
	if strings.TrimSpace(u.Name) == "" || strings.TrimSpace(u.Role) == "" {
		return gateway.Errorf(gateway.KindInvalid, "a user needs a name and a role")
	}
	users, tokens := tx.Bucket(bUsers), tx.Bucket(bTokens)
	seen := map[string]bool{}
	for _, t := range u.Tokens {
		if len(t.Hash) == 0 {
			return gateway.Errorf(gateway.KindInvalid, "user %q: an API token has no hash", u.Name)
		}
		if holder := tokens.Get(t.Hash); (holder != nil && string(holder) != u.Name) || seen[string(t.Hash)] {
			return gateway.Errorf(gateway.KindInvalid, "user %q: an API token is held already: make a new one", u.Name)
		}
		seen[string(t.Hash)] = true
	}
	if err := dropTokens(tx, u.Name); err != nil {
		return err
	}
	for _, t := range u.Tokens {
		if err := tokens.Put(t.Hash, []byte(u.Name)); err != nil {
			return err
		}
	}
	now := j.now()
	if u.Created.IsZero() {
		u.Created = now
	}
	u.Updated = now
	return putJSON(users, []byte(u.Name), fromUser(u))
}

// dropTokens removes the token index entries of the user called name.
func dropTokens(tx *bolt.Tx, name string) error {
	old, err := getUser(tx, name)
	if gateway.IsKind(err, gateway.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range old.Tokens {
		if err := tx.Bucket(bTokens).Delete(t.Hash); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUser removes a user; see gateway.Users.
func (j *Journal) DeleteUser(ctx context.Context, name string) error {
	return j.update(ctx, "delete a user", func(tx *bolt.Tx) error {
		if _, err := getUser(tx, name); err != nil {
			return err
		}
		if err := dropTokens(tx, name); err != nil {
			return err
		}
		return tx.Bucket(bUsers).Delete([]byte(name))
	})
}
