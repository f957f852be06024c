package store

import (
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
