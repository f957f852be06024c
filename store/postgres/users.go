package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callgate/gateway"
)

// User is a chain console user: the console's account (role, bcrypt hash)
// and the properties the user may see (nil: every property).
type User struct {
	gateway.User
	Properties []string
}

// AddUser adds a chain console user. Every property named must exist.
func (s *Store) AddUser(ctx context.Context, u User) error {
	if u.Name == "" || len(u.PasswordHash) == 0 || u.Role == "" {
		return gateway.Errorf(gateway.KindInvalid, "a user needs a name, a role and a password")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, p := range u.Properties {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM callgate.property WHERE property = $1", p).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central (see gateway central property list)", p)
			}
		}
		var props []string
		if u.Properties != nil {
			props = append([]string{}, u.Properties...)
		}
		_, err := tx.Exec(ctx, "INSERT INTO callgate.app_user (name, role, password_hash, properties) VALUES ($1, $2, $3, $4)",
			u.Name, u.Role, u.PasswordHash, props)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return gateway.Errorf(gateway.KindInvalid, "there is a user %q already", u.Name)
	}
	return classify(err, "add a user")
}

// User returns the chain console user called name.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	var u User
	var created, updated time.Time
	err := s.pool.QueryRow(ctx, "SELECT name, role, password_hash, properties, disabled, created_utc, updated_utc FROM callgate.app_user WHERE name = $1", name).
		Scan(&u.Name, &u.Role, &u.PasswordHash, &u.Properties, &u.Disabled, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, gateway.Errorf(gateway.KindNotFound, "there is no user %q", name)
	}
	if err != nil {
		return User{}, classify(err, "read a user")
	}
	u.Created, u.Updated = created.UTC(), updated.UTC()
	return u, nil
}

// MaySee reports whether the user may see property p.
func (u User) MaySee(p string) bool {
	if u.Properties == nil {
		return true
	}
	for _, q := range u.Properties {
		if q == p {
			return true
		}
	}
	return false
}
