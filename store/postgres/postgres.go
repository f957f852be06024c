// Package postgres is the central's store: every property's shipped journal
// events in one PostgreSQL, with the projections the chain console and BI
// tools read (docs/central.md). It implements gateway.CentralApplier.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"callgate/gateway"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys (pg_advisory_lock): one for migrations, one for
// making partitions. Fixed numbers, "cg" in the high bytes.
const (
	lockMigrate   int64 = 0x6367_0001
	lockPartition int64 = 0x6367_0002
	// lockApply is the class of the per-property apply locks, taken with
	// the two-key form (class, hash of the property): a key space apart
	// from the one-key locks above.
	lockApply int32 = 0x6367_0003
)

// Store is the central's PostgreSQL. It is safe for concurrent use, and
// several processes may share one database.
type Store struct {
	pool *pgxpool.Pool
	log  zerolog.Logger
	// months are the months whose partitions this process knows exist.
	mu     sync.Mutex
	months map[time.Time]bool
}

// Open connects to the database dsn, applies the schema's migrations under
// an advisory lock, and returns the store.
func Open(ctx context.Context, dsn string, log zerolog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "the PostgreSQL connection string (central.postgres or CALLGATE_POSTGRES) cannot be read: %s", redact(err.Error()))
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultPoolSize
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, stagingDDL)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(err, "connect to PostgreSQL")
	}
	s := &Store{pool: pool, log: log, months: map[time.Time]bool{}}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// DefaultPoolSize is the most connections the central holds to
// PostgreSQL when its connection string does not say (pool_max_conns):
// ingest and the chain console share them, and the console runs at most
// half of them as reports and exports (docs/central.md, "Connections").
const DefaultPoolSize = 8

// PoolSize is the most connections the store holds to PostgreSQL.
func (s *Store) PoolSize() int { return int(s.pool.Config().MaxConns) }

// Close closes the connections.
func (s *Store) Close() { s.pool.Close() }

// Pool is the connection pool, for the chain console's queries and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// stagingDDL makes each connection's staging tables: Apply copies a batch's
// projected rows into them, then upserts from them (docs/central.md,
// "Apply").
const stagingDDL = `
CREATE TEMP TABLE IF NOT EXISTS stage_call (
	property text, epoch text, entry bigint, created_utc timestamptz, state text, updated_utc timestamptz, last_seq bigint,
	received_utc timestamptz, source text, start_local timestamp, start_utc timestamptz, extension text, room text,
	reservation text, dialed text, duration_s integer, direction text, trunk text, account_code text, class text,
	destination text, band text, billable_s integer, chargeable boolean, carrier_minor bigint, markup_minor bigint,
	surcharge_minor bigint, tax_minor bigint, total_minor bigint, currency text, tariff_version text, exception text,
	posting bigint, sent_utc timestamptz, pms_answer text, pms_answer_text text, answer_utc timestamptz, replays integer,
	entry_utc timestamptz, call json, charge json, ring_s integer) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_posting (
	property text, epoch text, entry bigint, posting bigint, room text, total_minor bigint, currency text, state text,
	given_utc timestamptz, sent_utc timestamptz, answer text, answer_text text, answer_utc timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_exception (
	property text, epoch text, seq bigint, entry bigint, time_utc timestamptz, from_state text, to_state text, reason text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_action (
	property text, epoch text, seq bigint, entry bigint, time_utc timestamptz, time_local timestamp, kind text, actor text,
	action text, from_state text, to_state text, reason text, detail jsonb) ON COMMIT DELETE ROWS;
`

// migration is one embedded schema step, NNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s is not named NNN_name.sql", base)
		}
		b, err := migrations.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, base, string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrate applies the migrations not yet applied, each in its own
// transaction, holding a session advisory lock so that central processes
// starting together apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return gateway.Wrap(gateway.KindInternal, err, "the built-in schema migrations are damaged")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(err, "connect to PostgreSQL")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return classify(err, "lock the schema for migration")
	}
	defer func() {
		// A lost connection lets go of the lock by itself.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockMigrate)
	}()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS callgate;
CREATE TABLE IF NOT EXISTS callgate.schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_utc timestamptz NOT NULL DEFAULT now())`); err != nil {
		return classify(err, "make the schema callgate")
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM callgate.schema_migration")
	if err != nil {
		return classify(err, "read the schema's version")
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return classify(err, "read the schema's version")
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return classify(err, "read the schema's version")
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO callgate.schema_migration (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return classify(err, "apply schema migration "+m.name)
		}
		s.log.Info().Str("migration", m.name).Msg("applied a schema migration")
	}
	return nil
}

// ensureMonths makes the partitions of event and call_state for the months
// of ts that this process has not seen, under an advisory lock so that two
// processes never race to make one.
func (s *Store) ensureMonths(ctx context.Context, ts []time.Time) error {
	var need []time.Time
	s.mu.Lock()
	for _, t := range ts {
		if !s.months[t] && !containsTime(need, t) {
			need = append(need, t)
		}
	}
	s.mu.Unlock()
	if len(need) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockPartition); err != nil {
			return err
		}
		for _, m := range need {
			next := m.AddDate(0, 1, 0)
			for _, table := range []string{"event", "call_state"} {
				name := fmt.Sprintf("%s_%04d_%02d", table, m.Year(), int(m.Month()))
				var exists bool
				if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", "callgate."+name).Scan(&exists); err != nil {
					return err
				}
				if exists {
					continue
				}
				sql := fmt.Sprintf("CREATE TABLE callgate.%s PARTITION OF callgate.%s FOR VALUES FROM ('%s') TO ('%s')",
					name, table, m.Format("2006-01-02 15:04:05+00"), next.Format("2006-01-02 15:04:05+00"))
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return classify(err, "make the month's partitions")
	}
	s.mu.Lock()
	for _, m := range need {
		s.months[m] = true
	}
	s.mu.Unlock()
	return nil
}

func containsTime(ts []time.Time, t time.Time) bool {
	for _, x := range ts {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// monthOf is the first instant of t's month in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// classify turns a database error into one of ours: KindTransient when
// PostgreSQL could not be reached or went away, or for a failure that
// passes (a serialization failure, a deadlock, a shutdown), so the caller
// retries; KindInternal otherwise. what is what we were doing, in words.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "40"), // serialization failure, deadlock
			strings.HasPrefix(pe.Code, "53"), // insufficient resources
			strings.HasPrefix(pe.Code, "57"), // operator intervention: shutdown, cancel
			pe.Code == "55P03":               // lock not available
			return gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("PostgreSQL could not %s for now (%s): it will be tried again", what, pe.Message))
		}
		return gateway.Wrap(gateway.KindInternal, err, fmt.Sprintf("PostgreSQL refused to %s: %s (%s)", what, pe.Message, pe.Code))
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
		return gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("PostgreSQL could not %s: it is not reachable for now; check that it runs and central.postgres", what))
	}
	return gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("PostgreSQL could not %s: %s", what, redact(err.Error())))
}

// isConnErr reports a lost or refused connection as pgx words it.
func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "unexpected EOF") || strings.Contains(s, "connection refused")
}

// redact removes a password from an error that quotes a connection string.
func redact(s string) string {
	if i := strings.Index(s, "password="); i >= 0 {
		j := strings.IndexAny(s[i:], " &")
		if j < 0 {
			j = len(s) - i
		}
		s = s[:i] + "password=xxxxx" + s[i+j:]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.Index(s[i:], "@"); at > 0 {
			if colon := strings.Index(s[i+3:i+at], ":"); colon >= 0 {
				s = s[:i+3+colon] + ":xxxxx" + s[i+at:]
			}
		}
	}
	return s
}
