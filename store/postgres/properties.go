package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callgate/gateway"
)

// TokenPrefix starts every property token, so that one found in a file or a
// log is known for what it is.
const TokenPrefix = "cgp_"

// propertyName is what a property's name may be: it names the property in
// every row, the config (central.property) and the SQL contract.
var propertyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Property is a property the central knows.
type Property struct {
	Name     string
	Disabled bool
	Created  time.Time
	// Site is what the property last shipped of itself: its name, zone,
	// link and queues (zero before its first batch).
	Site gateway.SiteSnapshot
	// Epoch and Cursor are its latest epoch and the last event held of it;
	// Received is when that came.
	Epoch    string
	Cursor   uint64
	Received time.Time
}

// AddProperty adds a property and returns its token: 256 random bits. Only
// the token's SHA-256 is kept, so it is shown this once.
func (s *Store) AddProperty(ctx context.Context, name string) (string, error) {
	if !propertyName.MatchString(name) {
		return "", gateway.Errorf(gateway.KindInvalid, "%q is not a property name: use up to 63 letters, digits, dots, dashes and underscores, starting with a letter or digit (e.g. grand-vienna)", name)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", gateway.Wrap(gateway.KindInternal, err, "no random token could be made")
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	_, err := s.pool.Exec(ctx, "INSERT INTO callgate.property (property, token_sha256) VALUES ($1, $2)", name, h[:])
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return "", gateway.Errorf(gateway.KindInvalid, "there is a property %q already: pick another name, or disable the old one first", name)
	}
	if err != nil {
		return "", classify(err, "add a property")
	}
	return token, nil
}

// DisableProperty refuses the property's batches from now on; what it
// shipped stays.
func (s *Store) DisableProperty(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "UPDATE callgate.property SET disabled = true, updated_utc = now() WHERE property = $1", name)
	if err != nil {
		return classify(err, "disable a property")
	}
	if tag.RowsAffected() == 0 {
		return gateway.Errorf(gateway.KindNotFound, "there is no property %q at the central (see gateway central property list)", name)
	}
	return nil
}

// Properties lists the properties by name.
func (s *Store) Properties(ctx context.Context) ([]Property, error) {
	return s.PropertiesOf(ctx, nil)
}

// PropertiesOf lists the properties named (nil: every one) by name: the
// chain console's reads pass the user's list.
func (s *Store) PropertiesOf(ctx context.Context, names []string) ([]Property, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.property, p.disabled, p.created_utc,
			COALESCE(s.name, ''), COALESCE(s.timezone, ''), s.at_utc, COALESCE(s.link, ''), COALESCE(s.queued, 0), COALESCE(s.in_doubt, 0), COALESCE(s.version, ''), COALESCE(s.head, 0),
			COALESCE(v.epoch, ''), COALESCE(v.last_seq, 0), v.last_received_utc
		FROM callgate.property p
		LEFT JOIN callgate.site s ON s.property = p.property
		JOIN callgate.properties v ON v.property = p.property
		WHERE $1::text[] IS NULL OR p.property = ANY($1)
		ORDER BY p.property`, names)
	if err != nil {
		return nil, classify(err, "list the properties")
	}
	defer rows.Close()
	var out []Property
	for rows.Next() {
		var p Property
		var at, recv *time.Time
		var link string
		var cur, head int64
		if err := rows.Scan(&p.Name, &p.Disabled, &p.Created, &p.Site.Name, &p.Site.Timezone, &at, &link, &p.Site.Queued, &p.Site.InDoubt, &p.Site.Version, &head,
			&p.Epoch, &cur, &recv); err != nil {
			return nil, classify(err, "list the properties")
		}
		p.Created = p.Created.UTC()
		p.Site.Link = gateway.LinkState(link)
		p.Cursor, p.Site.Head = uint64(cur), uint64(head)
		if at != nil {
			p.Site.At = at.UTC()
		}
		if recv != nil {
			p.Received = recv.UTC()
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "list the properties")
	}
	return out, nil
}

// PropertyByToken is the property a token belongs to: KindNotFound for a
// token the central does not know, KindRejected for a disabled property.
// The token is compared by its SHA-256, never kept.
func (s *Store) PropertyByToken(ctx context.Context, token string) (string, error) {
	h := sha256.Sum256([]byte(token))
	var name string
	var disabled bool
	err := s.pool.QueryRow(ctx, "SELECT property, disabled FROM callgate.property WHERE token_sha256 = $1", h[:]).Scan(&name, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", gateway.Errorf(gateway.KindNotFound, "the central knows no property with this token: check central.token_file at the property")
	}
	if err != nil {
		return "", classify(err, "look up a token")
	}
	if disabled {
		return name, gateway.Errorf(gateway.KindRejected, "property %q is disabled at the central", name)
	}
	return name, nil
}
