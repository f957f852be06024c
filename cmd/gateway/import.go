package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"

	"callgate/gateway"
	"callgate/pbx"
	"callgate/store"
	"callgate/tariff"
)

// importBatch is how many records go to the journal in one transaction: one
// fsync per batch, and a batch small enough that a failure loses little work.
const importBatch = 5000

func importCommand() *command {
	var config, format, received string
	var progress string
	return &command{
		name: "import",
		args: "FILE…",
		summary: "load past SMDR files into the journal as history (state imported: rated with the config's tariff, " +
			"never posted); a record already in the journal is skipped, so importing a file twice adds nothing",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&config, "config", "", "the config file (required): its site, store, pbx, rooms and tariff sections are used")
			fs.StringVar(&format, "format", "", "the PBX format of the files: one of gateway formats (default: the config's pbx.format)")
			fs.StringVar(&received, "received", "", "when the files were printed (2026-01-01T00:05:00 in the site's zone, or RFC 3339): "+
				"dates records that print no year or no date (default: each file's modification time)")
			fs.StringVar(&progress, "progress", "auto", "the progress bar: auto (when stderr is a terminal), always or never")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if config == "" {
				return usageError{"import needs --config FILE"}
			}
			if len(args) == 0 {
				return usageError{"import needs at least one SMDR FILE"}
			}
			showBar, err := progressWanted(progress, a.stderr)
			if err != nil {
				return err
			}
			c, err := loadConfigFor(config, "import", "site", "store", "pbx", "rooms", "tariff")
			if err != nil {
				return err
			}
			// An import allocates much and keeps little (two batches at
			// most, a few MB): collecting when the heap has grown fivefold
			// rather than twofold saves about an eighth of its time.
			defer debug.SetGCPercent(debug.SetGCPercent(400))
			if format == "" {
				format = c.PBX.Format
			}
			var clock time.Time
			if received != "" {
				if clock, err = parseReceived(received, c.Location); err != nil {
					return usageError{err.Error()}
				}
			}
			opts := c.PBX.ParserOptions(c.Location)
			if format != c.PBX.Format {
				opts.Template, opts.CMFields = nil, nil
			}
			parser, err := pbx.NewParser(format, opts)
			if err != nil {
				return err
			}
			tf, err := tariff.Load(c.Resolve(c.Tariff))
			if err != nil {
				return fmt.Errorf("tariff %s: %w", c.Resolve(c.Tariff), err)
			}
			j, err := store.Open(c.Resolve(c.Store.Path), serveStoreOptions(c, a.log))
			if err != nil {
				return err
			}
			defer j.Close()
			im := &gateway.Importer{Journal: j, Parser: parser, Rater: tf, Rooms: c.Rooms.RoomMap(), Batch: importBatch}
			var files int
			var bytes int64
			for _, name := range args {
				// clock dates records that print no year; zero means the file's
				// modification time.
				size, err := pbx.ImportFile(ctx, im, name, parser.Format(), clock, progressBar(a.stderr, name, showBar))
				if size >= 0 {
					files, bytes = files+1, bytes+size
				}
				if err != nil {
					importSummary(a.stdout, im.Stats(), files, bytes)
					return err
				}
			}
			importSummary(a.stdout, im.Stats(), files, bytes)
			return nil
		},
	}
}

// progressWanted decides whether import draws its progress bar.
func progressWanted(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		return isTerminal(w), nil
	}
	return false, usageError{fmt.Sprintf("--progress %q is not one of auto, always, never", mode)}
}

// progressBar returns import's progress bar for the file name on w (nil
// without one).
func progressBar(w io.Writer, name string, show bool) func(int64) pbx.Progress {
	if !show {
		return nil
	}
	return func(size int64) pbx.Progress {
		return progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
}

// importSummary prints what the import did, one fact a line.
func importSummary(w io.Writer, s gateway.ImportStats, files int, bytes int64) {
	fmt.Fprintf(w, "files read:          %d (%d bytes)\n", files, bytes)
	fmt.Fprintf(w, "records read:        %d\n", s.Records)
	fmt.Fprintf(w, "calls imported:      %d\n", s.Imported)
	fmt.Fprintf(w, "already in journal:  %d (skipped)\n", s.Duplicates)
	fmt.Fprintf(w, "not call records:    %d (headers, summaries)\n", s.NotCalls)
	fmt.Fprintf(w, "unreadable records:  %d (not imported: check --format; gateway parse shows why)\n", s.Unreadable)
	fmt.Fprintf(w, "calls left unrated:  %d (imported without a charge: the tariff cannot price them)\n", s.Unrated)
	fmt.Fprintf(w, "rating exceptions:   %d (unknown or invalid destinations)\n", s.RatingIssues)
}
