package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/mail"
	"callgate/gateway/report"
	"callgate/internal/serialport"
	"callgate/internal/yamlstrict"
	"callgate/pbx"
	"callgate/pms/fias"
	"callgate/store"
	"callgate/tariff"
)

// Config is the gateway's configuration file (docs/design.md, section "Configuration").
type Config struct {
	Site  SiteConfig  `yaml:"site"`
	Store StoreConfig `yaml:"store"`
	PBX   PBXConfig   `yaml:"pbx"`
	// PMSSection is the pms section as written; readPMS reads it by its
	// protocol into PMS (fias) or PMSCloud (pms.go).
	PMSSection pmsSection `yaml:"pms"`
	// PMS is the pms section of a fias config (its defaults otherwise).
	PMS PMSConfig `yaml:"-"`
	// PMSCloud is the pms section of a cloud PMS's config, as its
	// protocol's entry reads it (cloudPMS); nil for fias.
	PMSCloud any           `yaml:"-"`
	Rooms    RoomsConfig   `yaml:"rooms"`
	Tariff   string        `yaml:"tariff"` // path of the tariff file, relative to the config file
	Console  ConsoleConfig `yaml:"console"`
	Policy   PolicyConfig  `yaml:"policy"`
	Alarms   AlarmsConfig  `yaml:"alarms"`
	Report   ReportConfig  `yaml:"report"`
	// Reports are the reports sent by e-mail on a schedule, through SMTP.
	Reports []ScheduleConfig `yaml:"reports"`
	SMTP    SMTPConfig       `yaml:"smtp"`
	// Central is where the journal is shipped (ship.go); none by default.
	Central CentralConfig `yaml:"central"`

	// Path is the file the config was read from ("" for a built-in config).
	Path string `yaml:"-"`
	// Location is Site.Timezone, loaded.
	Location *time.Location `yaml:"-"`
	lines    yamlstrict.Lines
	// pms is the protocol that read the pms section.
	pms *pmsProtocol
}

// SiteConfig names the property and its time zone: the PBX prints wall-clock
// time in it.
type SiteConfig struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"` // IANA name, e.g. America/New_York
}

// Problem is one thing wrong with a config file; Problems all of them;
// checker collects them, each section's own checks adding theirs.
type (
	Problem  = gateway.Problem
	Problems = gateway.Problems
	checker  = gateway.Checker
)

// The sections owned by the packages that read them.
type (
	StoreConfig   = store.Config
	SerialConfig  = serialport.Config
	PBXConfig     = pbx.Config
	PMSConfig     = fias.Config
	PostingConfig = fias.PostingConfig
	RoomsConfig   = gateway.RoomsConfig
	RoomRange     = gateway.RoomRangeConfig
	AlarmsConfig  = gateway.AlarmsConfig
	ConsoleConfig = console.Config
)

// PolicyConfig holds the hotel's posting policy.
type PolicyConfig struct {
	// PostToVacant posts calls to rooms the PMS reports vacant instead of
	// holding them as "room vacant" exceptions for the night auditor.
	PostToVacant bool `yaml:"post_to_vacant"`
}

// DefaultConfig returns the settings a config file starts from.
func DefaultConfig() Config {
	return Config{
		Site:    SiteConfig{Name: "callgate", Timezone: "UTC"},
		Store:   store.DefaultConfig(),
		PBX:     PBXConfig{SilenceMinutes: 60},
		PMS:     fias.DefaultConfig(),
		Rooms:   RoomsConfig{Default: "same"},
		Console: console.DefaultConfig(),
		Alarms:  AlarmsConfig{PMSDownMinutes: 10, QueueMinutes: 30},
		Report:  report.DefaultConfig(),
		SMTP:    mail.DefaultConfig(),
	}
}

// LoadConfig reads and checks the config file at path. The error, if any, is
// Problems: every problem in the file, each with its key and line.
func LoadConfig(path string) (*Config, error) {
	data, err := yamlstrict.ReadFile(path, yamlstrict.MaxYAML) // a regular file of at most 4 MiB
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	return ParseConfig(data, path)
}

// loadSections loads a config for a command that uses only some of its
// sections: problems elsewhere (a PMS not yet set up) do not stop it; those
// in its sections, and the file's own, are an error saying "path: fix:".
func loadSections(path, fix string, sections ...string) (*Config, error) {
	c, err := LoadConfig(path)
	var ps, mine Problems
	if c == nil || !errors.As(err, &ps) && err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Key == "(file)" || slices.ContainsFunc(sections, func(s string) bool { return hasPrefix(p.Key, s) }) {
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		return nil, fmt.Errorf("%s: %s:\n%v", path, fix, mine)
	}
	return c, nil
}

// loadConfigFor is loadSections for the command cmd.
func loadConfigFor(path, cmd string, sections ...string) (*Config, error) {
	return loadSections(path, cmd+" needs these fixed first", sections...)
}

// hasPrefix reports whether key is in section (site, pbx, reports).
func hasPrefix(key, section string) bool {
	return key == section || len(key) > len(section) && key[:len(section)] == section && (key[len(section)] == '.' || key[len(section)] == '[')
}

// ParseConfig reads and checks a config from data; path is used to resolve
// relative file names and in messages.
func ParseConfig(data []byte, path string) (*Config, error) {
	c := DefaultConfig()
	read := yamlstrict.Decode(data, &c)
	c.Path = path
	c.lines = read.Lines
	var problems Problems
	for _, p := range read.Problems {
		problems = append(problems, Problem(p))
	}
	if !read.Partial {
		// The pms section, by its protocol (pms.go).
		ps, partial := c.readPMS(data)
		problems = append(problems, ps...)
		read.Partial = partial
	}
	for _, s := range []*SerialConfig{c.PBX.Serial, c.PMS.Serial} {
		if s != nil {
			s.FillDefaults()
		}
	}
	if !read.Partial {
		// A part left unread would only show up here as missing.
		problems = append(problems, c.validate()...)
	}
	if len(problems) > 0 {
		return &c, problems
	}
	return &c, nil
}

// Resolve returns a file name from the config made absolute against the
// config file's folder.
func (c *Config) Resolve(name string) string {
	if name == "" || filepath.IsAbs(name) || c.Path == "" {
		return name
	}
	return filepath.Join(filepath.Dir(c.Path), name)
}

func (c *Config) validate() Problems {
	k := &checker{Line: c.lines.Of}
	if loc, err := time.LoadLocation(c.Site.Timezone); err != nil || c.Site.Timezone == "" {
		k.Add("site.timezone", "%q is not a time zone name: use an IANA name such as America/New_York or Europe/Berlin", c.Site.Timezone)
	} else {
		c.Location = loc
	}
	c.Store.Check(k)
	c.PBX.Check(k)
	if c.pms != nil {
		c.pms.check(c, k)
	}
	c.Rooms.Check(k)
	if k.Required("tariff", c.Tariff, "the path of the tariff file") {
		tariff.CheckFile(k, "tariff", c.Resolve(c.Tariff))
	}
	c.Alarms.Check(k)
	c.validateAlarms(k) // alarms.go
	c.validateReport(k)
	c.validateDelivery(k)
	c.Console.Check(k, c.Resolve)
	c.Central.Check(k, c.Resolve)
	return k.Problems
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
