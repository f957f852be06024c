package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
			opts := parserOptions(c)
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
			im := &importer{journal: j, parser: parser, rater: tf, rooms: c.Rooms.RoomMap()}
			for _, name := range args {
				if err := im.file(ctx, name, clock, a.stderr, showBar); err != nil {
					im.summary(a.stdout)
					return err
				}
			}
			im.summary(a.stdout)
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
		f, ok := w.(*os.File)
		return ok && term.IsTerminal(int(f.Fd())), nil
	}
	return false, usageError{fmt.Sprintf("--progress %q is not one of auto, always, never", mode)}
}

// loadConfigFor loads a config for a command that uses only some of its
// sections: problems elsewhere (a PMS not yet set up) do not stop it.
func loadConfigFor(path, cmd string, sections ...string) (*Config, error) {
	c, err := LoadConfig(path)
	if c == nil {
		return nil, err
	}
	var problems Problems
	if errors.As(err, &problems) {
		var mine Problems
		for _, p := range problems {
			if p.Key == "(file)" {
				mine = append(mine, p)
				continue
			}
			for _, s := range sections {
				if hasPrefix(p.Key, s) {
					mine = append(mine, p)
					break
				}
			}
		}
		if len(mine) > 0 {
			return nil, fmt.Errorf("%s: %s needs these fixed first:\n%v", path, cmd, mine)
		}
	} else if err != nil {
		return nil, err
	}
	return c, nil
}

// importStats counts what an import did.
type importStats struct {
	Files        int
	Bytes        int64
	Records      int64 // records framed
	Calls        int64 // calls parsed
	Imported     int64 // new entries journaled
	Duplicates   int64 // calls already in the journal, skipped
	NotCalls     int64 // headers, summaries, page breaks
	Unreadable   int64 // records that should be calls but cannot be read (or were cut): not imported
	Unrated      int64 // calls the tariff could not price: imported without a charge
	RatingIssues int64 // calls rated with a rating exception (unknown destination, …)
}

// importer streams SMDR files into the journal in batches.
type importer struct {
	journal gateway.Journal
	parser  *pbx.Parser
	rater   gateway.Rater
	rooms   gateway.RoomMap
	batch   []gateway.ImportRecord
	stats   importStats
	// inflight gets the result of the batch the journal is writing.
	inflight chan error
}

// file imports one file. clock dates records that print no year; zero means
// the file's modification time.
func (im *importer) file(ctx context.Context, name string, clock time.Time, progress io.Writer, showBar bool) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", name, unwrapPathError(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", name, unwrapPathError(err))
	}
	if clock.IsZero() {
		clock = st.ModTime()
	}
	var r io.Reader = f
	var bar *progressbar.ProgressBar
	if showBar {
		bar = progressbar.NewOptions64(st.Size(),
			progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }),
		)
		r = io.TeeReader(f, bar)
	}
	source := "import " + name
	fr := pbx.Framer{LengthPrefixed: im.parser.Format().LengthPrefixed}
	var ferr error
	emit := func(data []byte, truncated bool) {
		if ferr != nil {
			return
		}
		ferr = im.record(ctx, gateway.RawRecord{Data: data, Received: clock.UTC(), Source: source, Truncated: truncated})
	}
	buf := make([]byte, 256<<10)
	for ferr == nil {
		n, err := r.Read(buf)
		fr.Feed(buf[:n], emit)
		if err == io.EOF {
			break
		}
		if err != nil {
			im.wait()
			return fmt.Errorf("reading %s: %w", name, err)
		}
	}
	fr.Flush(emit)
	if ferr == nil {
		ferr = im.flush(ctx)
	}
	if err := im.wait(); ferr == nil {
		ferr = err
	}
	if bar != nil {
		bar.Finish()
	}
	im.stats.Files++
	im.stats.Bytes += st.Size()
	if ferr != nil {
		return fmt.Errorf("importing %s: %w", name, ferr)
	}
	return nil
}

// record parses, rates and queues one framed record; data is copied.
func (im *importer) record(ctx context.Context, rec gateway.RawRecord) error {
	im.stats.Records++
	if rec.Truncated {
		im.stats.Unreadable++
		return nil
	}
	rec.Data = append([]byte(nil), rec.Data...)
	call, err := im.parser.Parse(rec)
	switch {
	case errors.Is(err, gateway.ErrNotCall):
		im.stats.NotCalls++
		return nil
	case err != nil:
		im.stats.Unreadable++
		return nil
	}
	im.stats.Calls++
	ir := gateway.ImportRecord{Raw: rec, Call: &call}
	if ch, err := im.rater.Rate(call); err == nil {
		ir.Charge = &ch
		if ch.Exception != nil {
			im.stats.RatingIssues++
		}
	} else {
		im.stats.Unrated++
	}
	if room, why := im.rooms.Resolve(call.Extension); why == gateway.RoomOK {
		ir.Room = room
	}
	im.batch = append(im.batch, ir)
	if len(im.batch) >= importBatch {
		return im.flush(ctx)
	}
	return nil
}

// flush hands the batch to the journal. The journal writes it while the
// next batch is parsed and rated: at most one batch is in flight, so a
// failure stops the import within two batches.
func (im *importer) flush(ctx context.Context) error {
	if err := im.wait(); err != nil {
		return err
	}
	if len(im.batch) == 0 {
		return nil
	}
	batch := im.batch
	im.batch = make([]gateway.ImportRecord, 0, importBatch)
	done := make(chan error, 1)
	im.inflight = done
	go func() {
		res, err := im.journal.Import(ctx, batch)
		if err == nil {
			im.stats.Imported += int64(len(batch) - res.Duplicates)
			im.stats.Duplicates += int64(res.Duplicates)
		}
		done <- err
	}()
	return nil
}

// wait waits for the batch in flight, if any.
func (im *importer) wait() error {
	if im.inflight == nil {
		return nil
	}
	err := <-im.inflight
	im.inflight = nil
	return err
}

// summary prints what the import did, one fact a line.
func (im *importer) summary(w io.Writer) {
	s := im.stats
	fmt.Fprintf(w, "files read:          %d (%d bytes)\n", s.Files, s.Bytes)
	fmt.Fprintf(w, "records read:        %d\n", s.Records)
	fmt.Fprintf(w, "calls imported:      %d\n", s.Imported)
	fmt.Fprintf(w, "already in journal:  %d (skipped)\n", s.Duplicates)
	fmt.Fprintf(w, "not call records:    %d (headers, summaries)\n", s.NotCalls)
	fmt.Fprintf(w, "unreadable records:  %d (not imported: check --format; gateway parse shows why)\n", s.Unreadable)
	fmt.Fprintf(w, "calls left unrated:  %d (imported without a charge: the tariff cannot price them)\n", s.Unrated)
	fmt.Fprintf(w, "rating exceptions:   %d (unknown or invalid destinations)\n", s.RatingIssues)
}
