package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"callgate/gateway"
)

// Config is the store section of the gateway's config file: where the
// journal lives and how long it keeps things (docs/design.md,
// "Configuration").
type Config struct {
	Path               string `yaml:"path"`
	GuestRetentionDays int    `yaml:"guest_retention_days"`
	// ReplayWindowDays is how long a raw record is remembered, to drop a PBX
	// replaying its buffer after a reconnect.
	ReplayWindowDays int `yaml:"replay_window_days"`
	// PostingNumberMax is the highest FIAS posting number (P#) before the
	// counter starts again at 1: 9999 for a PMS that keeps 4 digits.
	PostingNumberMax int `yaml:"posting_number_max"`
	// RetentionMonths removes closed entries (and their events) older than
	// this many months; 0 keeps everything.
	RetentionMonths int `yaml:"retention_months"`
}

// DefaultConfig returns the settings a store section starts from.
func DefaultConfig() Config {
	return Config{Path: "/var/lib/callgate/journal.db", GuestRetentionDays: 30, ReplayWindowDays: 45, PostingNumberMax: 99_999_999}
}

// Check records the section's problems, under store.
func (c *Config) Check(k *gateway.Checker) {
	k.Required("store.path", c.Path, "the journal file's path, e.g. /var/lib/callgate/journal.db")
	if c.GuestRetentionDays < 0 {
		k.Add("store.guest_retention_days", "%d is negative: give the days to keep guest names after check-out", c.GuestRetentionDays)
	}
	if c.ReplayWindowDays < 1 || c.ReplayWindowDays > 3650 {
		k.Add("store.replay_window_days", "%d is not from 1 to 3650: give the days a PBX's replayed record is still recognised (45 is usual)", c.ReplayWindowDays)
	}
	if c.PostingNumberMax < 9 || c.PostingNumberMax > 99_999_999 {
		k.Add("store.posting_number_max", "%d is not from 9 to 99999999 (FIAS posting numbers have at most 8 digits; 9999 for a PMS that keeps 4)", c.PostingNumberMax)
	}
	if c.RetentionMonths < 0 {
		k.Add("store.retention_months", "%d is negative: give the months to keep closed entries, or 0 to keep them all", c.RetentionMonths)
	}
}

// Options maps the section onto the journal's options, in the site's zone
// loc (logger and timeouts are the caller's).
func (c Config) Options(loc *time.Location) Options {
	o := Options{
		Location:        loc,
		ReplayWindow:    time.Duration(c.ReplayWindowDays) * 24 * time.Hour,
		PostingMax:      uint32(c.PostingNumberMax),
		GuestRetention:  time.Duration(c.GuestRetentionDays) * 24 * time.Hour,
		RetentionMonths: c.RetentionMonths,
	}
	if c.GuestRetentionDays == 0 {
		o.GuestRetention = -1 // erase at the first tidy after check-out
	}
	return o
}

// boltMagic is what a bbolt file holds after its first page header (the
// meta page's magic number, in the machine's byte order: little-endian on
// every platform the gateway runs on).
const boltMagic = 0xED0CDAED

// CheckPath checks, for gateway check, that serve can open or create the
// journal at path, without creating or locking it: an existing journal must
// be a regular file this user can read and write and that begins like one
// (an empty file is made a journal); a new one needs an existing folder this
// user can create files in. The error is a sentence naming the fix.
func CheckPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		return checkJournalFile(path, fi)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot look at %s (%v): give a path whose folders exist and can be read by the user that runs the gateway", path, pathErr(err))
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the folder %s for the journal does not exist: create it (mkdir -p %s, owned by the user that runs the gateway), or change store.path", dir, dir)
	case err != nil:
		return fmt.Errorf("cannot look at the folder %s (%v): give the user that runs the gateway access to it, or change store.path", dir, pathErr(err))
	case !di.IsDir():
		return fmt.Errorf("%s is not a folder: give a journal path inside a folder, e.g. /var/lib/callgate/journal.db", dir)
	}
	// Creating a file is the one sure test of what serve will do (a
	// read-only file system, permissions, ACLs).
	f, err := os.CreateTemp(dir, ".callgate-check-*")
	if err != nil {
		return fmt.Errorf("cannot create the journal in %s (%v): give the user that runs the gateway write access to the folder, or change store.path", dir, pathErr(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func checkJournalFile(path string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return fmt.Errorf("%s is a folder, not the journal file: give a file in it, e.g. %s", path, filepath.Join(path, "journal.db"))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%v): give the journal file's path, e.g. /var/lib/callgate/journal.db", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot open %s for writing (%v): give the user that runs the gateway read and write access to it", path, pathErr(err))
	}
	defer f.Close()
	var head [20]byte
	n, err := io.ReadFull(f, head[:])
	switch {
	case n == 0 && (err == io.EOF):
		return nil // empty: Open makes it a journal
	case err != nil || binary.LittleEndian.Uint32(head[16:]) != boltMagic:
		return fmt.Errorf("%s is not a journal (not a bbolt file): correct store.path, or restore the journal from its backup", path)
	}
	return nil
}

// pathErr is err without the path an *fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
