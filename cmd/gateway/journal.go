package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway/report"
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

func journalCommand() *command {
	var jf journalFlags
	var q listFlags
	return &command{
		name: "journal",
		args: "[events|verify|backup FILE|restore BACKUP|compact|prune|rebuild]",
		summary: "print a stopped gateway's journal as JSON lines, one entry each (id, state, raw, call, charge, room, posting number, " +
			"PMS answer, history); the subcommands print its events, verify it, back it up, restore a backup, compact it, prune old entries or rebuild its indices " +
			"(gateway journal SUBCOMMAND --help)",
		flags: func(fs *flag.FlagSet, _ *app) {
			jf.register(fs)
			q.register(fs)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return listJournal(ctx, a, &jf, &q)
			}
			for _, sc := range journalSubcommands(&jf) {
				if sc.name == args[0] {
					return runSub(ctx, a, "journal", sc, args[1:], jf.register)
				}
			}
			return usageError{fmt.Sprintf("journal has no journalSubcommand %q: use events, verify, backup, restore, compact, prune or rebuild", args[0])}
		},
	}
}

// journalSubcommands are gateway journal's subcommands, on the journal jf
// names; only backup and restore take an argument.
func journalSubcommands(jf *journalFlags) []*subcommand {
	var since uint64
	var months int
	var dryRun bool
	return []*subcommand{
		{name: "events", noArgs: true, summary: "print the journal's events in sequence order as JSON lines, each with the journal's epoch and the event's hash",
			flags: func(fs *flag.FlagSet) { fs.Uint64Var(&since, "since", 0, "only the events after this sequence number") },
			run: func(ctx context.Context, a *app, _ []string) error {
				return withJournal(jf, true, func(j *store.Journal, _ string) error {
					w := bufio.NewWriter(a.stdout)
					if _, err := j.WriteEvents(ctx, w, since); err != nil {
						return err
					}
					return w.Flush()
				})
			}},
		{name: "verify", noArgs: true, summary: "check every event's hash, the sequence numbers, the file's pages and every index against a rebuild from the events",
			run: func(ctx context.Context, a *app, _ []string) error {
				return withJournal(jf, true, func(j *store.Journal, path string) error {
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
					if in.Follows != "" {
						fmt.Fprintf(a.stdout, "the file was replaced (restored or moved): epoch %s follows epoch %s from event %d, entry %d; the chain starts from epoch %s\n",
							in.Epoch, in.Follows, in.FollowsSeq, in.FollowsEntry, in.ChainEpoch)
					}
					return nil
				})
			}},
		{name: "backup", args: "FILE", summary: "write a consistent copy of the journal to FILE, a new file",
			run: func(ctx context.Context, a *app, args []string) error {
				if len(args) != 1 {
					return usageError{"journal backup needs the FILE to write, and nothing else"}
				}
				return withJournal(jf, true, func(j *store.Journal, _ string) error {
					n, err := j.BackupFile(ctx, args[0])
					if err != nil {
						return err
					}
					in, _ := j.Info(ctx)
					fmt.Fprintf(a.stdout, "backed up %s to %s: epoch %s, last event %d\n", store.FormatSize(n), args[0], in.Epoch, in.LastSeq)
					return nil
				})
			}},
		{name: "restore", args: "BACKUP", summary: "put BACKUP in place of a stopped gateway's journal: it is verified first, the replaced journal is kept " +
			"as PATH.replaced-TIME, and the next start begins a new epoch that the central keeps beside the old one",
			run: func(ctx context.Context, a *app, args []string) error {
				if len(args) != 1 {
					return usageError{"journal restore needs the BACKUP to put in place, and nothing else"}
				}
				path, opt, err := journalOptions(jf)
				if err != nil {
					return err
				}
				r, err := store.Restore(ctx, path, args[0], opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "restored %s to %s: epoch %s up to event %d, entry %d\n", args[0], path, r.Epoch, r.LastSeq, r.Entries)
				if r.Replaced != "" {
					fmt.Fprintf(a.stdout, "the replaced journal is kept as %s\n", r.Replaced)
				}
				fmt.Fprintln(a.stdout, "the next start of the gateway begins a new epoch after it: calls and postings made since the backup are not in the journal; the central keeps both epochs")
				return nil
			}},
		{name: "compact", noArgs: true, summary: "rewrite the journal without the free space bbolt keeps (the file never shrinks by itself)",
			run: func(_ context.Context, a *app, _ []string) error {
				path, opt, err := journalOptions(jf)
				if err != nil {
					return err
				}
				before, after, err := store.Compact(path, opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "compacted %s: %s → %s\n", path, store.FormatSize(before), store.FormatSize(after))
				return nil
			}},
		{name: "prune", noArgs: true, summary: "remove closed entries (posted, posted-manually, voided, not-chargeable, imported) older than the retention, with their events",
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&months, "months", 0, "remove entries older than this many months (default: the config's store.retention_months)")
				fs.BoolVar(&dryRun, "dry-run", false, "only count what would be removed")
			},
			run: func(ctx context.Context, a *app, _ []string) error {
				return withJournal(jf, dryRun, func(j *store.Journal, path string) error {
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
					if p.Held {
						fmt.Fprintln(a.stdout, pruneHeldText(p))
					}
					return nil
				})
			}},
		{name: "rebuild", noArgs: true, summary: "rebuild every index and count from the events (when verify reports an index that differs)",
			run: func(ctx context.Context, a *app, _ []string) error {
				return withJournal(jf, false, func(j *store.Journal, path string) error {
					n, err := j.Rebuild(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "rebuilt %s from %d events\n", path, n)
					return nil
				})
			}},
	}
}

// listFlags select the entries gateway journal prints.
type listFlags struct{ store.ListQuery }

func (q *listFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&q.States, "state", "", "only entries in these states, comma-separated (e.g. exception,in-doubt)")
	fs.StringVar(&q.From, "from", "", "only calls from this time: 2026-11-27, 2026-11-27T14:00:00 (site time) or RFC 3339")
	fs.StringVar(&q.To, "to", "", "only calls before this time; a date includes its whole day")
	fs.StringVar(&q.Room, "room", "", "only entries charged to this room")
	fs.StringVar(&q.Extension, "extension", "", "only calls of this extension")
	fs.UintVar(&q.Posting, "posting", 0, "only entries that held this posting number")
	fs.IntVar(&q.Limit, "limit", 0, "at most this many entries (default all)")
	fs.BoolVar(&q.Newest, "newest", false, "newest first")
}

// listJournal prints the entries as JSON lines, a page at a time.
func listJournal(ctx context.Context, a *app, jf *journalFlags, q *listFlags) error {
	_, loc, err := journalConfig(jf)
	if err != nil {
		return err
	}
	f, err := q.Filter(loc)
	if err != nil {
		return usageError{err.Error()}
	}
	return withJournal(jf, true, func(j *store.Journal, _ string) error {
		_, err := j.WriteEntries(ctx, a.stdout, f, q.Limit)
		return err
	})
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
	c, err := loadSections(jf.config, "fix the store and site sections first", "store", "site")
	if err != nil {
		return nil, nil, err
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

// readJournal checks the options of a report and opens the config's journal
// for reading, as gateway report and export do. A running gateway holds the
// file: then it fails at once, saying so.
func (c *Config) readJournal(ro report.Options, log zerolog.Logger) (*store.Journal, error) {
	if err := ro.Check(); err != nil {
		return nil, usageError{err.Error()}
	}
	o := storeOptions(c)
	o.ReadOnly, o.Logger = true, log
	return store.Open(c.Resolve(c.Store.Path), o)
}

// storeOptions are the journal's options from a config.
func storeOptions(c *Config) store.Options {
	o := c.Store.Options(c.Location)
	o.CentralGuard = c.Central.Enabled() // prune only what the central holds (docs/central.md)
	return o
}

func configRetention(jf *journalFlags) int {
	if c, _, err := journalConfig(jf); err == nil && c != nil {
		return c.Store.RetentionMonths
	}
	return 0
}

// withJournal opens the journal the flags name, runs fn on it and closes it.
func withJournal(jf *journalFlags, readOnly bool, fn func(j *store.Journal, path string) error) error {
	path, opt, err := journalOptions(jf)
	if err != nil {
		return err
	}
	opt.ReadOnly = readOnly
	j, err := store.Open(path, opt)
	if err != nil {
		return err
	}
	defer j.Close()
	return fn(j, path)
}
