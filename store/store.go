package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"callgate/gateway"
)

// Options tunes a journal. Zero fields take the defaults.
type Options struct {
	// ReadOnly opens the journal for reading: several readers may share it,
	// nothing is created or migrated. `gateway journal` commands use it.
	ReadOnly bool
	// Timeout is how long Open waits for the file's lock (default 1 s).
	Timeout time.Duration
	// Location is the site's time zone, for the wall-clock times in events
	// (default UTC).
	Location *time.Location
	// ReplayWindow is how long a raw record is remembered to recognise a
	// replay of it (default 45 days).
	ReplayWindow time.Duration
	// PostingMax is the highest FIAS posting number before the counter
	// wraps to 1 (default 99,999,999; 9,999 for PMSs that keep 4 digits).
	PostingMax uint32
	// GuestRetention is how long guest names are kept after check-out
	// (default 30 days; negative: erased at the first Tidy after check-out).
	GuestRetention time.Duration
	// RetentionMonths, if above zero, makes Tidy prune closed entries older
	// than this many months with their events. 0 keeps everything.
	RetentionMonths int
	// CentralGuard is set when a central is configured: Prune and Tidy
	// then remove only events the central acknowledged (the ship cursor,
	// docs/central.md "Prune guard").
	CentralGuard bool
	// Logger receives the journal's log lines; the zero value logs nothing,
	// like zerolog.Nop().
	Logger zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// upgradeOnly opens a writable journal only to migrate it, without
	// the file check that may start a new epoch: Restore upgrades a copy
	// of an older backup with it (docs/journal.md, "Epochs").
	upgradeOnly bool
}

// Defaults.
const (
	DefaultTimeout        = time.Second
	DefaultReplayWindow   = 45 * 24 * time.Hour
	DefaultPostingMax     = 99_999_999
	DefaultGuestRetention = 30 * 24 * time.Hour
)

func (o *Options) fill() error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.ReplayWindow <= 0 {
		o.ReplayWindow = DefaultReplayWindow
	}
	if o.PostingMax == 0 {
		o.PostingMax = DefaultPostingMax
	}
	if o.PostingMax < 9 || o.PostingMax > DefaultPostingMax {
		return gateway.Errorf(gateway.KindInvalid, "posting number maximum %d is not from 9 to 99999999", o.PostingMax)
	}
	if o.GuestRetention == 0 {
		o.GuestRetention = DefaultGuestRetention
	}
	if o.GuestRetention < 0 {
		o.GuestRetention = 0
	}
	if o.RetentionMonths < 0 {
		return gateway.Errorf(gateway.KindInvalid, "retention of %d months is negative", o.RetentionMonths)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// currentSchema is the layout this code reads and writes (see doc.go). A var,
// not a const, so the migration tests can pretend to be a later version.
var currentSchema = 4

// migration moves a journal from schema to schema+1, inside the one
// transaction that also records the new schema. Events are never migrated
// (they are never rewritten; their decoding stays compatible); what changes
// is the layout of projections, which rebuildProjections can always
// recreate from the log.
type migration struct {
	from int
	what string
	run  func(tx *bolt.Tx, j *Journal) error
	// prepare, if set, does most of run's work beforehand in transactions
	// of bounded size, leaving the schema as it is, so that upgrading a
	// large journal needs bounded memory; it must be resumable, and run
	// must finish whatever it left. Only the step from the file's schema
	// is prepared.
	prepare func(j *Journal) error
}

// migrations lists every step, in order. Schema 1 is the first layout.
var migrations = []migration{
	{from: 1, what: "entry records carry their raw record, call and charge", run: migrateRecords, prepare: prepareRecords},
	{from: 2, what: "running totals per quarter hour", run: migrateTotals},
	{from: 3, what: "guests' personal data moves from the stays to the guest records", run: migrateGuestRecords},
}

// Journal is the bbolt journal. It implements gateway.Journal,
// gateway.Queries and gateway.Users, and is safe for concurrent use.
type Journal struct {
	db    *bolt.DB
	path  string
	opt   Options
	log   zerolog.Logger
	epoch string
	// genesis is the "hash of event 0": SHA-256("callgate journal " +
	// chain epoch), the file's first epoch (docs/journal.md, "Epochs").
	genesis [32]byte
	// commits runs the writes of Journal.write, grouped (see commit.go);
	// nil for a read-only journal.
	commits *committer
	// broken is set once bbolt panicked on the file: it is damaged, and
	// takes no more writes (see damage.go).
	broken atomic.Bool
}

var (
	_ gateway.Journal = (*Journal)(nil)
	_ gateway.Queries = (*Journal)(nil)
	_ gateway.Users   = (*Journal)(nil)
)

// ErrInUse is the cause of Open's error when another process holds the
// journal.
var ErrInUse = errors.New("journal in use")

// Bucket and meta key names.
var (
	bMeta        = []byte("meta")
	bEvents      = []byte("events")
	bPruned      = []byte("pruned")
	bEntries     = []byte("entries")
	bEntryEvents = []byte("entry_events")
	bByTime      = []byte("by_time")
	bByState     = []byte("by_state")
	bByRoom      = []byte("by_room")
	bByExt       = []byte("by_ext")
	bByPosting   = []byte("by_posting")
	bHeld        = []byte("held")
	bCounts      = []byte("counts")
	bReplay      = []byte("replay")
	bAudit       = []byte("audit")
	bRooms       = []byte("rooms")
	bStays       = []byte("stays")
	bNames       = []byte("names")
	bUsers       = []byte("users")
	bTokens      = []byte("tokens")

	kSchema     = []byte("schema")
	kEpoch      = []byte("epoch")
	kCreated    = []byte("created")
	kHead       = []byte("head")
	kEntries    = []byte("entries")
	kPosting    = []byte("posting")
	kReplays    = []byte("replays")
	kResync     = []byte("resync")
	kNightAudit = []byte("night_audit")
)

// projectionBuckets are rebuilt from the events; projectionKeys are the meta
// keys that are.
var (
	projectionBuckets = [][]byte{bEntries, bEntryEvents, bByTime, bByState, bByRoom, bByExt, bByPosting, bHeld,
		bCounts, bReplay, bAudit, bRooms, bStays, bTotals}
	projectionKeys = [][]byte{kEntries, kPosting, kReplays, kResync, kNightAudit}
	allBuckets     = append([][]byte{bMeta, bEvents, bPruned, bNames, bUsers, bTokens}, projectionBuckets...)
)

// Open opens the journal at path, creating it (and its epoch) if it does not
// exist, and migrating an older schema. It fails at once, with a sentence
// saying so, when another process holds the file.
func Open(path string, o Options) (*Journal, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	j := &Journal{path: path, opt: o, log: o.Logger.With().Str("component", "store").Logger()}
	if _, err := os.Stat(path); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, gateway.Errorf(gateway.KindInternal, "cannot read the journal %s: %w", path, err)
		}
		if o.ReadOnly {
			return nil, gateway.Errorf(gateway.KindNotFound, "there is no journal at %s: check store.path in the config", path)
		}
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "the folder %s for the journal does not exist: create it, or change store.path", filepath.Dir(path))
		}
	}
	if err := cutShort(path); err != nil {
		return nil, gateway.Errorf(gateway.KindInternal, "the journal %s is damaged (%v): %s", path, err, fixDamaged)
	}
	var db *bolt.DB
	err := j.guard("open the file", func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:         o.Timeout,
			ReadOnly:        o.ReadOnly,
			PreLoadFreelist: o.ReadOnly, // so that Verify can check pages
			FreelistType:    bolt.FreelistMapType,
		})
		return err
	})
	switch {
	case err != nil && j.broken.Load():
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &gateway.Error{Kind: gateway.KindTransient, Err: ErrInUse,
			Msg: fmt.Sprintf("the journal %s is in use by a running gateway (%s): stop it first; gateway journal commands read a stopped gateway's journal", path, lockHolder(path))}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, gateway.Errorf(gateway.KindInternal, "%s is not a readable journal (%v): restore it from a backup", path, err)
	case err != nil:
		return nil, gateway.Errorf(gateway.KindInternal, "cannot open the journal %s: %w", path, err)
	}
	j.db = db
	if err := j.guard("read the journal's structure", j.init); err != nil {
		db.Close()
		return nil, err
	}
	if !o.ReadOnly && !o.upgradeOnly {
		// A replaced file (a backup copied in place, a move) starts a new
		// epoch here, before any other write (docs/journal.md, "Epochs").
		if err := j.checkFile(); err != nil {
			db.Close()
			return nil, err
		}
		j.commits = newCommitter(db)
	}
	return j, nil
}

// init creates a new journal's buckets and epoch, or checks and migrates an
// existing one's schema.
func (j *Journal) init() error {
	var schema int
	var fresh bool
	var chainEpoch string // the epoch the chain starts from, when not j.epoch
	err := j.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil {
			empty := true
			tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return gateway.Errorf(gateway.KindInvalid, "%s is a bbolt file but not a callgate journal: check store.path", j.path)
			}
			fresh = true
			return nil
		}
		schema = int(u64(m.Get(kSchema)))
		j.epoch = string(m.Get(kEpoch))
		chainEpoch = chainEpochOf(m, j.epoch)
		if schema == currentSchema {
			if err := checkStructure(tx, j.path, !j.opt.ReadOnly); err != nil {
				return gateway.Errorf(gateway.KindInternal, "the journal %s is damaged (%v): %s", j.path, err, fixDamaged)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.genesis = gateway.JournalGenesis(chainEpoch)
	switch {
	case fresh && j.opt.ReadOnly:
		return gateway.Errorf(gateway.KindInvalid, "%s is an empty file, not a journal yet: start the gateway once to create it", j.path)
	case fresh:
		if err := j.create(); err != nil {
			return err
		}
	case schema > currentSchema:
		return gateway.Errorf(gateway.KindInvalid, "the journal %s was written by a newer callgate (schema %d; this one knows schema %d): upgrade callgate, or restore a backup made by this version", j.path, schema, currentSchema)
	case schema < 1:
		return gateway.Errorf(gateway.KindInvalid, "the journal %s has no schema version: it is damaged; restore it from a backup", j.path)
	case schema < currentSchema && j.opt.ReadOnly:
		return gateway.Errorf(gateway.KindInvalid, "the journal %s has schema %d and this callgate uses %d: start the gateway once to upgrade it, then run this again", j.path, schema, currentSchema)
	case schema < currentSchema:
		if err := j.migrate(schema); err != nil {
			return err
		}
	}
	j.log.Debug().Str("path", j.path).Str("epoch", j.epoch).Msg("journal open")
	return nil
}

func (j *Journal) create() error {
	j.epoch = newUUID()
	j.genesis = gateway.JournalGenesis(j.epoch)
	err := j.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bMeta)
		m.Put(kSchema, be64(uint64(currentSchema)))
		m.Put(kEpoch, []byte(j.epoch))
		return m.Put(kCreated, []byte(j.opt.Now().UTC().Format(time.RFC3339Nano)))
	})
	if err != nil {
		return gateway.Errorf(gateway.KindInternal, "cannot create the journal %s: %w", j.path, err)
	}
	j.log.Info().Str("path", j.path).Str("epoch", j.epoch).Msg("journal created")
	return nil
}

// migrate runs the migrations from schema to currentSchema in one
// transaction: all of them or none (after the first step's prepare, which
// leaves the schema as it was).
func (j *Journal) migrate(schema int) error {
	from := schema
	// A copy of the file as it was, kept beside it: an older callgate
	// cannot read the upgraded journal, and this is what it can go back to.
	// An earlier attempt's copy is the file before any step, and is kept.
	bak := fmt.Sprintf("%s.schema%d.bak", j.path, schema)
	if _, err := os.Stat(bak); errors.Is(err, os.ErrNotExist) {
		if _, err := j.BackupFile(context.Background(), bak); err != nil {
			return gateway.Errorf(gateway.KindInternal, "cannot upgrade the journal %s from schema %d to %d (it is unchanged): the copy kept before an upgrade, %s, could not be written (%v): free disk space beside the journal, then start again", j.path, from, currentSchema, bak, err)
		}
		j.log.Info().Str("path", j.path).Str("copy", bak).Msg("journal copied before its upgrade: remove the copy once this callgate runs well")
	}
	j.log.Info().Str("path", j.path).Int("from", from).Int("to", currentSchema).Msg("journal upgrading (a large journal takes a while: about 20 s a million entries)")
	for i := range migrations {
		if m := migrations[i]; m.from == schema && m.prepare != nil {
			if err := m.prepare(j); err != nil {
				return gateway.Errorf(gateway.KindInternal, "cannot upgrade the journal %s from schema %d to %d (it is still schema %d; the next start goes on with the upgrade): migration from schema %d (%s): %w", j.path, from, currentSchema, from, schema, m.what, err)
			}
		}
	}
	err := j.db.Update(func(tx *bolt.Tx) error {
		for ; schema < currentSchema; schema++ {
			var step *migration
			for i := range migrations {
				if migrations[i].from == schema {
					step = &migrations[i]
				}
			}
			if step == nil {
				return fmt.Errorf("no migration from schema %d", schema)
			}
			if err := step.run(tx, j); err != nil {
				return fmt.Errorf("migration from schema %d (%s): %w", schema, step.what, err)
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, be64(uint64(currentSchema)))
	})
	if err != nil {
		return gateway.Errorf(gateway.KindInternal, "cannot upgrade the journal %s from schema %d to %d (it is unchanged): %w", j.path, from, currentSchema, err)
	}
	j.log.Info().Str("path", j.path).Int("from", from).Int("to", currentSchema).Msg("journal upgraded")
	return nil
}

// Close closes the journal file once the writes being committed are done.
// Methods called afterwards fail.
func (j *Journal) Close() error {
	if j.commits != nil {
		j.commits.stop()
	}
	return j.db.Close()
}

// Path returns the journal's file name.
func (j *Journal) Path() string { return j.path }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// update runs fn in a write transaction, failing at once when ctx is done.
// Errors that are not classified are disk or file failures.
func (j *Journal) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return gateway.Wrap(gateway.KindTransient, err, "the journal did not "+what)
	}
	if err := j.damaged(what); err != nil {
		return err
	}
	err := j.guard(what, func() error { return j.db.Update(fn) })
	return classify(err, what)
}

func (j *Journal) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return gateway.Wrap(gateway.KindTransient, err, "the journal did not "+what)
	}
	return classify(j.guard(what, func() error { return j.db.View(fn) }), what)
}

func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	return gateway.Wrap(gateway.KindInternal, err, "the journal could not "+what)
}

// Key and value encodings.

func be64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func u64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func be32(n uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, n)
	return b
}

// micros is t as Unix microseconds; zero for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// timeKey is a time as 8 bytes that sort like the times.
func timeKey(us int64) []byte { return be64(uint64(us) ^ 1<<63) }

func appendTimeKey(b []byte, us int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(us)^1<<63)
}

// prefixed returns prefix ‖ 0 ‖ time ‖ id: a key of by_state, by_room,
// by_ext.
func prefixed(prefix string, us int64, id uint64) []byte {
	b := make([]byte, 0, len(prefix)+17)
	b = append(b, prefix...)
	b = append(b, 0)
	b = appendTimeKey(b, us)
	return binary.BigEndian.AppendUint64(b, id)
}

func timeIDKey(us int64, id uint64) []byte {
	b := make([]byte, 0, 16)
	b = appendTimeKey(b, us)
	return binary.BigEndian.AppendUint64(b, id)
}

func clone(b []byte) []byte { return bytes.Clone(b) }
