package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/store"
)

// journalFlags are the flags every journal journalSubcommand takes: which journal.
type journalFlags struct {
	config string
	file   string
}

func (f *journalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", f.config, "the config file: its store and site sections say which journal and which time zone")
	fs.StringVar(&f.file, "journal", f.file, "a journal file (a backup, say) instead of the config's store.path")
}

// journalSubcommand is one of gateway journal's subcommands.
type journalSubcommand struct {
	name, args, summary string
	flags               func(fs *flag.FlagSet)
	run                 func(ctx context.Context, a *app, jf *journalFlags, args []string) error
}

func journalCommand() *command {
	var jf journalFlags
	var q listFlags
	return &command{
		name: "journal",
		args: "[events|verify|backup FILE|compact|prune|rebuild]",
		summary: "print a stopped gateway's journal as JSON lines, one entry each (id, state, raw, call, charge, room, posting number, " +
			"PMS answer, history); the subcommands print its events, verify it, back it up, compact it, prune old entries or rebuild its indices " +
			"(gateway journal SUBCOMMAND --help)",
		flags: func(fs *flag.FlagSet, _ *app) {
			jf.register(fs)
			q.register(fs)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return listJournal(ctx, a, &jf, &q)
			}
			for _, sc := range journalSubcommands() {
				if sc.name == args[0] {
					return runSubcommand(ctx, a, &jf, sc, args[1:])
				}
			}
			return usageError{fmt.Sprintf("journal has no journalSubcommand %q: use events, verify, backup, compact, prune or rebuild", args[0])}
		},
	}
}

func journalSubcommands() []*journalSubcommand {
	var since uint64
	var months int
	var dryRun bool
	return []*journalSubcommand{
		{name: "events", summary: "print the journal's events in sequence order as JSON lines, each with the journal's epoch and the event's hash",
			flags: func(fs *flag.FlagSet) { fs.Uint64Var(&since, "since", 0, "only the events after this sequence number") },
			run: func(ctx context.Context, a *app, jf *journalFlags, _ []string) error {
				j, _, err := openJournal(jf, true)
				if err != nil {
					return err
				}
				defer j.Close()
				w := bufio.NewWriter(a.stdout)
				if _, err := j.WriteEvents(ctx, w, since); err != nil {
					return err
				}
				return w.Flush()
			}},
		{name: "verify", summary: "check every event's hash, the sequence numbers, the file's pages and every index against a rebuild from the events",
			run: func(ctx context.Context, a *app, jf *journalFlags, _ []string) error {
				j, path, err := openJournal(jf, true)
				if err != nil {
					return err
				}
				defer j.Close()
				rep, err := j.Verify(ctx, "")
				if err != nil {
					return err
				}
				in, _ := j.Info(ctx)
				if !rep.OK() {
					for _, p := range rep.Problems {
						fmt.Fprintln(a.stdout, p)
					}
					fmt.Fprintf(a.stderr, "gateway: the journal %s has problems: restore it from a backup; if only indices differ, gateway journal rebuild repairs them\n", path)
					return exitError{1}
				}
				fmt.Fprintf(a.stdout, "journal OK: %d events checked (%d removed by retention), %d entries, epoch %s\n",
					rep.Events, rep.Pruned, rep.Entries, in.Epoch)
				return nil
			}},
		{name: "backup", args: "FILE", summary: "write a consistent copy of the journal to FILE, a new file",
			run: func(ctx context.Context, a *app, jf *journalFlags, args []string) error {
				if len(args) != 1 {
					return usageError{"journal backup needs the FILE to write, and nothing else"}
				}
				j, _, err := openJournal(jf, true)
				if err != nil {
					return err
				}
				defer j.Close()
				n, err := j.BackupFile(ctx, args[0])
				if err != nil {
					return err
				}
				in, _ := j.Info(ctx)
				fmt.Fprintf(a.stdout, "backed up %s to %s: epoch %s, last event %d\n", size(n), args[0], in.Epoch, in.LastSeq)
				return nil
			}},
		{name: "compact", summary: "rewrite the journal without the free space bbolt keeps (the file never shrinks by itself)",
			run: func(_ context.Context, a *app, jf *journalFlags, _ []string) error {
				path, opt, err := journalOptions(jf)
				if err != nil {
					return err
				}
				before, after, err := store.Compact(path, opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "compacted %s: %s → %s\n", path, size(before), size(after))
				return nil
			}},
		{name: "prune", summary: "remove closed entries (posted, posted-manually, voided, not-chargeable, imported) older than the retention, with their events",
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&months, "months", 0, "remove entries older than this many months (default: the config's store.retention_months)")
				fs.BoolVar(&dryRun, "dry-run", false, "only count what would be removed")
			},
			run: func(ctx context.Context, a *app, jf *journalFlags, _ []string) error {
				j, path, err := openJournal(jf, dryRun)
				if err != nil {
					return err
				}
				defer j.Close()
				if months == 0 {
					months = configRetention(jf)
				}
				if months <= 0 {
					return usageError{"journal prune needs --months N (or store.retention_months in the config)"}
				}
				before := time.Now().AddDate(0, -months, 0)
				p, err := j.Prune(ctx, before, dryRun)
				if err != nil {
					return err
				}
				verb := "removed"
				if dryRun {
					verb = "would remove"
				}
				fmt.Fprintf(a.stdout, "%s: %s %d entries and their %d events, closed before %s\n", path, verb, p.Entries, p.Events, before.Format("2006-01-02"))
				return nil
			}},
		{name: "rebuild", summary: "rebuild every index and count from the events (when verify reports an index that differs)",
			run: func(ctx context.Context, a *app, jf *journalFlags, _ []string) error {
				j, path, err := openJournal(jf, false)
				if err != nil {
					return err
				}
				defer j.Close()
				n, err := j.Rebuild(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "rebuilt %s from %d events\n", path, n)
				return nil
			}},
	}
}

// runSubcommand parses a journalSubcommand's flags (and the journal flags again, so
// that they may come after the journalSubcommand's name) and runs it.
func runSubcommand(ctx context.Context, a *app, jf *journalFlags, sc *journalSubcommand, args []string) error {
	fs := flag.NewFlagSet("gateway journal "+sc.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	jf.register(fs)
	if sc.flags != nil {
		sc.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(a.stdout, "Usage: gateway journal %s [flags]%s\n\n%s\n\nFlags:\n", sc.name, prefixSpace(sc.args), sc.summary)
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			return nil
		}
		return usageError{fmt.Sprintf("%s (see gateway journal %s --help)", err, sc.name)}
	}
	if sc.args == "" && fs.NArg() > 0 {
		return usageError{fmt.Sprintf("journal %s takes no arguments, got %q", sc.name, fs.Arg(0))}
	}
	return sc.run(ctx, a, jf, fs.Args())
}

// listFlags select the entries gateway journal prints.
type listFlags struct {
	states, from, to, room, ext string
	posting                     uint
	limit                       int
	newest                      bool
}

func (q *listFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&q.states, "state", "", "only entries in these states, comma-separated (e.g. exception,in-doubt)")
	fs.StringVar(&q.from, "from", "", "only calls from this time: 2026-11-27, 2026-11-27T14:00:00 (site time) or RFC 3339")
	fs.StringVar(&q.to, "to", "", "only calls before this time; a date includes its whole day")
	fs.StringVar(&q.room, "room", "", "only entries charged to this room")
	fs.StringVar(&q.ext, "extension", "", "only calls of this extension")
	fs.UintVar(&q.posting, "posting", 0, "only entries that held this posting number")
	fs.IntVar(&q.limit, "limit", 0, "at most this many entries (default all)")
	fs.BoolVar(&q.newest, "newest", false, "newest first")
}

// filter turns the flags into a journal filter; loc is the site's zone.
func (q *listFlags) filter(loc *time.Location) (gateway.Filter, error) {
	f := gateway.Filter{Room: q.room, Extension: q.ext, Posting: uint32(q.posting), Newest: q.newest, History: true}
	if q.posting > 99_999_999 {
		return f, usageError{fmt.Sprintf("--posting %d is not a posting number (at most 8 digits)", q.posting)}
	}
	if q.limit < 0 {
		return f, usageError{fmt.Sprintf("--limit %d is negative", q.limit)}
	}
	if q.states != "" {
		for _, s := range strings.Split(q.states, ",") {
			st := gateway.State(strings.TrimSpace(s))
			if !st.Valid() {
				names := make([]string, len(gateway.States))
				for i, v := range gateway.States {
					names[i] = string(v)
				}
				return f, usageError{fmt.Sprintf("--state %q is not a journal state: use %s", s, strings.Join(names, ", "))}
			}
			f.States = append(f.States, st)
		}
	}
	var err error
	if f.From, err = parseWhen("--from", q.from, loc, false); err != nil {
		return f, err
	}
	if f.To, err = parseWhen("--to", q.to, loc, true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, usageError{fmt.Sprintf("--to %s is not after --from %s", q.to, q.from)}
	}
	return f, nil
}

// parseWhen reads a time flag: a date (its midnight, or with end the next
// midnight), a wall-clock time in the site's zone, or RFC 3339.
func parseWhen(name, s string, loc *time.Location, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(gateway.WallClockLayout, s, loc); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, usageError{fmt.Sprintf("%s %q is not a date (2026-11-27), a site time (2026-11-27T14:00:00) or an RFC 3339 time", name, s)}
}

// listJournal prints the entries as JSON lines, a page at a time.
func listJournal(ctx context.Context, a *app, jf *journalFlags, q *listFlags) error {
	_, loc, err := journalConfig(jf)
	if err != nil {
		return err
	}
	f, err := q.filter(loc)
	if err != nil {
		return err
	}
	j, _, err := openJournal(jf, true)
	if err != nil {
		return err
	}
	defer j.Close()
	_, err = j.WriteEntries(ctx, a.stdout, f, q.limit)
	return err
}

// journalConfig reads the config, if one is given: the journal's path and
// the site's zone. Problems outside the site and store sections do not stop
// a journal command.
func journalConfig(jf *journalFlags) (*Config, *time.Location, error) {
	if jf.config == "" {
		if jf.file == "" {
			return nil, nil, usageError{"journal needs --config FILE (or --journal FILE)"}
		}
		return nil, time.UTC, nil
	}
	c, err := LoadConfig(jf.config)
	if c == nil {
		return nil, nil, err
	}
	var problems Problems
	if errors.As(err, &problems) {
		var ours Problems
		for _, p := range problems {
			if hasPrefix(p.Key, "store") || hasPrefix(p.Key, "site") || p.Key == "(file)" {
				ours = append(ours, p)
			}
		}
		if len(ours) > 0 {
			return nil, nil, fmt.Errorf("%s: fix the store and site sections first:\n%v", jf.config, ours)
		}
	}
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	return c, loc, nil
}

// journalOptions says which journal file to open and how.
func journalOptions(jf *journalFlags) (string, store.Options, error) {
	c, loc, err := journalConfig(jf)
	if err != nil {
		return "", store.Options{}, err
	}
	opt := store.Options{Location: loc, Timeout: 500 * time.Millisecond}
	path := jf.file
	if c != nil {
		opt = storeOptions(c)
		opt.Timeout = 500 * time.Millisecond
		if path == "" {
			path = c.Resolve(c.Store.Path)
		}
	}
	return path, opt, nil
}

// storeOptions are the journal's options from a config.
// readJournal opens the config's journal for reading, as gateway report and
// export do. A running gateway holds the file: then it fails at once,
// saying so.
func (c *Config) readJournal(log zerolog.Logger) (*store.Journal, error) {
	o := storeOptions(c)
	o.ReadOnly, o.Logger = true, log
	return store.Open(c.Resolve(c.Store.Path), o)
}

func storeOptions(c *Config) store.Options {
	o := store.Options{
		Location:        c.Location,
		ReplayWindow:    time.Duration(c.Store.ReplayWindowDays) * 24 * time.Hour,
		PostingMax:      uint32(c.Store.PostingNumberMax),
		GuestRetention:  time.Duration(c.Store.GuestRetentionDays) * 24 * time.Hour,
		RetentionMonths: c.Store.RetentionMonths,
	}
	if c.Store.GuestRetentionDays == 0 {
		o.GuestRetention = -1 // erase at the first tidy after check-out
	}
	return o
}

func configRetention(jf *journalFlags) int {
	if c, _, err := journalConfig(jf); err == nil && c != nil {
		return c.Store.RetentionMonths
	}
	return 0
}

// openJournal opens the journal the flags name.
func openJournal(jf *journalFlags, readOnly bool) (*store.Journal, string, error) {
	path, opt, err := journalOptions(jf)
	if err != nil {
		return nil, "", err
	}
	opt.ReadOnly = readOnly
	j, err := store.Open(path, opt)
	return j, path, err
}

// size writes a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
