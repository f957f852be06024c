package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/internal/yamlstrict"
	"callgate/pbx"
	"callgate/pms/fias"
	"callgate/tariff"
)

// Config is the gateway's configuration file (DESIGN.md "Configuration").
type Config struct {
	Site    SiteConfig    `yaml:"site"`
	Store   StoreConfig   `yaml:"store"`
	PBX     PBXConfig     `yaml:"pbx"`
	PMS     PMSConfig     `yaml:"pms"`
	Rooms   RoomsConfig   `yaml:"rooms"`
	Tariff  string        `yaml:"tariff"` // path of the tariff file, relative to the config file
	Console ConsoleConfig `yaml:"console"`
	Policy  PolicyConfig  `yaml:"policy"`
	Alarms  AlarmsConfig  `yaml:"alarms"`
	Report  ReportConfig  `yaml:"report"`
	// Reports are the reports sent by e-mail on a schedule, through SMTP.
	Reports []ScheduleConfig `yaml:"reports"`
	SMTP    SMTPConfig       `yaml:"smtp"`

	// Path is the file the config was read from ("" for a built-in config).
	Path string `yaml:"-"`
	// Location is Site.Timezone, loaded.
	Location *time.Location `yaml:"-"`
	lines    yamlstrict.Lines
}

// SiteConfig names the property and its time zone: the PBX prints wall-clock
// time in it.
type SiteConfig struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"` // IANA name, e.g. America/New_York
}

// StoreConfig is where the journal lives and how long it keeps things.
type StoreConfig struct {
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

// SerialConfig is an RS-232 port, for the PBX's SMDR output or FIAS.
type SerialConfig struct {
	Device      string `yaml:"device"`
	Baud        int    `yaml:"baud"`
	DataBits    int    `yaml:"data_bits"`
	Parity      string `yaml:"parity"`       // none, odd, even, mark, space
	StopBits    string `yaml:"stop_bits"`    // 1, 1.5, 2
	FlowControl string `yaml:"flow_control"` // none, rts-cts
}

// PBXConfig says how the PBX's call records are read.
type PBXConfig struct {
	Format    string        `yaml:"format"`    // a name from `gateway formats`
	Transport string        `yaml:"transport"` // serial, tcp-listen, tcp-dial, file
	Serial    *SerialConfig `yaml:"serial"`
	Listen    string        `yaml:"listen"` // tcp-listen: address to listen on
	// Allow lists the addresses (IPs or CIDR ranges) that may connect to a
	// tcp-listen port: anyone who can connect can charge calls to rooms, so
	// set it to the PBX's address. Empty allows every address.
	Allow    []string `yaml:"allow"`
	Dial     string   `yaml:"dial"`     // tcp-dial: the PBX's SMDR address
	Password string   `yaml:"password"` // tcp-dial: Mitel 5000 SMDR login password
	File     string   `yaml:"file"`     // file: the file to follow like tail -F
	// FileFromStart reads a followed file from its beginning instead of
	// from its end (the file holds no records that were already charged).
	FileFromStart bool `yaml:"file_from_start"`
	// StripHighBit clears bit 7 of every byte: for a PBX sending 7-bit data
	// with parity to a port read as 8N1.
	StripHighBit bool `yaml:"strip_high_bit"`
	// SilenceMinutes raises the "no PBX data" alarm after this long without a
	// byte from the PBX (a pulled cable raises no error).
	SilenceMinutes int           `yaml:"silence_minutes"`
	Template       *pbx.Template `yaml:"template"`  // format template: the layout
	CMFields       []pbx.CMField `yaml:"cm_fields"` // format avaya-cm: the CDR form's field list
}

// PMSConfig says how the PMS is reached.
type PMSConfig struct {
	Protocol        string        `yaml:"protocol"` // fias
	Address         string        `yaml:"address"`  // host:port of the PMS interface (IFC8 is the TCP server)
	Serial          *SerialConfig `yaml:"serial"`   // instead of address: FIAS over RS-232
	InterfaceFamily string        `yaml:"interface_family"`
	AmountExponent  int           `yaml:"amount_exponent"` // implied decimals in FIAS TA
	CodePage        string        `yaml:"code_page"`
	Posting         PostingConfig `yaml:"posting"`
	// VendorVersion is FIAS V# in the link description: up to 10 letters,
	// digits and dots.
	VendorVersion string `yaml:"vendor_version"`
	// AnswerTimeoutS is how long a posting waits for the PMS's answer
	// before it is in doubt (at least 30).
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// AliveIntervalS is how long the link may be quiet before the gateway
	// checks the PMS is there (LS, at least 300: Oracle's minimum).
	AliveIntervalS int `yaml:"alive_interval_s"`
	// Transcript is a file that gets every FIAS frame both ways, for the
	// PMS vendor's certification; "" keeps it in the debug log only.
	Transcript string `yaml:"transcript"`
}

// PostingConfig holds optional fields of FIAS posting records.
type PostingConfig struct {
	SalesOutlet string `yaml:"sales_outlet"`
	// CallTypes maps tariff classes to FIAS PC codes (default local L,
	// national N, international I, mobile M).
	CallTypes map[string]string `yaml:"call_types"`
}

// RoomMap returns the extension-to-room map the engine uses.
func (r RoomsConfig) RoomMap() gateway.RoomMap {
	m := gateway.RoomMap{Same: r.Default == "same", Map: r.Map}
	for _, rg := range r.Ranges {
		m.Ranges = append(m.Ranges, gateway.RoomRange{From: rg.From, To: rg.To, Offset: rg.RoomOffset})
	}
	for _, s := range r.NotRooms {
		if nr, ok := gateway.ParseExtensionRange(s); ok {
			m.NotRooms = append(m.NotRooms, nr)
		}
	}
	return m
}

// RoomsConfig maps extensions to rooms.
type RoomsConfig struct {
	Default  string            `yaml:"default"` // same: extension = room; none: only what map and ranges say
	Map      map[string]string `yaml:"map"`
	Ranges   []RoomRange       `yaml:"ranges"`
	NotRooms []string          `yaml:"not_rooms"` // extensions ("250") or ranges ("200-299") that are never rooms
}

// RoomRange maps a range of extensions to rooms by an offset.
type RoomRange struct {
	From       string `yaml:"from"`
	To         string `yaml:"to"`
	RoomOffset int    `yaml:"room_offset"`
}

// PolicyConfig holds the hotel's posting policy.
type PolicyConfig struct {
	// PostToVacant posts calls to rooms the PMS reports vacant instead of
	// holding them as "room vacant" exceptions for the night auditor.
	PostToVacant bool `yaml:"post_to_vacant"`
}

// AlarmsConfig sets when alarms are raised (the PBX's silence is
// pbx.silence_minutes).
type AlarmsConfig struct {
	PMSDownMinutes int `yaml:"pms_down_minutes"` // PMS link down longer than this
	QueueMinutes   int `yaml:"queue_minutes"`    // a posting waiting longer than this
}

// ConsoleConfig is the web console's listener and its settings.
type ConsoleConfig struct {
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey, both set, serve the console (and /metrics,
	// /healthz) over TLS with these PEM files.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MaskDigits is how many leading digits of a dialed number the front
	// desk sees on pages (the rest shown as x).
	MaskDigits int `yaml:"mask_digits"`
}

// DefaultConfig returns the settings a config file starts from.
func DefaultConfig() Config {
	return Config{
		Site:  SiteConfig{Name: "callgate", Timezone: "UTC"},
		Store: StoreConfig{Path: "/var/lib/callgate/journal.db", GuestRetentionDays: 30, ReplayWindowDays: 45, PostingNumberMax: 99_999_999},
		PBX:   PBXConfig{SilenceMinutes: 60},
		PMS: PMSConfig{
			Protocol:        "fias",
			InterfaceFamily: "CA",
			AmountExponent:  2,
			CodePage:        "windows-1252",
			VendorVersion:   "callgate",
			AnswerTimeoutS:  30,
			AliveIntervalS:  300,
		},
		Rooms:   RoomsConfig{Default: "same"},
		Console: ConsoleConfig{Listen: "127.0.0.1:8080", MaskDigits: 4},
		Alarms:  AlarmsConfig{PMSDownMinutes: 10, QueueMinutes: 30},
		Report:  report.DefaultConfig(),
		SMTP:    SMTPConfig{Port: 587, TLS: "starttls"},
	}
}

func defaultSerial() SerialConfig {
	return SerialConfig{Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}
}

// Serial port settings a PBX or PMS may use.
var (
	bauds        = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}
	parities     = []string{"none", "odd", "even", "mark", "space"}
	stopBits     = []string{"1", "1.5", "2"}
	flowControls = []string{"none", "rts-cts"}
	transports   = []string{"serial", "tcp-listen", "tcp-dial", "file"}
	protocols    = []string{"fias"}
	// interfaceFamilies are the FIAS IF codes a call-accounting link can announce.
	interfaceFamilies = []string{"CA", "PB"}
	codePages         = []string{"windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
		"windows-1257", "iso-8859-1", "iso-8859-2", "iso-8859-15", "utf-8"}
)

// LoadConfig reads and checks the config file at path. The error, if any, is
// Problems: every problem in the file, each with its key and line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig reads and checks a config from data; path is used to resolve
// relative file names and in messages.
func ParseConfig(data []byte, path string) (*Config, error) {
	c := DefaultConfig()
	read := yamlstrict.Decode(data, &c)
	c.Path = path
	c.lines = read.Lines
	for _, s := range []*SerialConfig{c.PBX.Serial, c.PMS.Serial} {
		if s != nil {
			fillSerialDefaults(s)
		}
	}
	var problems Problems
	for _, p := range read.Problems {
		problems = append(problems, Problem(p))
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

// fillSerialDefaults sets what a serial section leaves out to 9600 8N1.
func fillSerialDefaults(s *SerialConfig) {
	def := defaultSerial()
	if s.Baud == 0 {
		s.Baud = def.Baud
	}
	if s.DataBits == 0 {
		s.DataBits = def.DataBits
	}
	if s.Parity == "" {
		s.Parity = def.Parity
	}
	if s.StopBits == "" {
		s.StopBits = def.StopBits
	}
	if s.FlowControl == "" {
		s.FlowControl = def.FlowControl
	}
}

// Resolve returns a file name from the config made absolute against the
// config file's folder.
func (c *Config) Resolve(name string) string {
	if name == "" || filepath.IsAbs(name) || c.Path == "" {
		return name
	}
	return filepath.Join(filepath.Dir(c.Path), name)
}

type checker struct {
	c        *Config
	problems Problems
}

func (k *checker) add(key, format string, args ...any) {
	k.problems = append(k.problems, Problem{Key: key, Line: k.c.line(key), Msg: fmt.Sprintf(format, args...)})
}

func (c *Config) line(key string) int { return c.lines.Of(key) }

func (k *checker) oneOf(key, value string, valid []string) {
	if !slices.Contains(valid, value) {
		k.add(key, "%q is not one of %s", value, strings.Join(valid, ", "))
	}
}

func (k *checker) hostPort(key, value string, needHost bool) {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		k.add(key, "%q is not an address like 10.0.0.5:5100", value)
		return
	}
	low := 1
	if !needHost {
		low = 0 // a listening address may ask for any free port
	}
	if n, err := strconv.Atoi(port); err != nil || n < low || n > 65535 {
		k.add(key, "%q: port %q is not a number from %d to 65535", value, port, low)
	}
	if needHost && host == "" {
		k.add(key, "%q has no host: give the other side's address, like 10.0.0.5:%s", value, port)
	}
}

func (k *checker) required(key, value, what string) bool {
	if value == "" {
		k.add(key, "missing: %s", what)
		return false
	}
	return true
}

func (c *Config) validate() Problems {
	k := &checker{c: c}
	if loc, err := time.LoadLocation(c.Site.Timezone); err != nil || c.Site.Timezone == "" {
		k.add("site.timezone", "%q is not a time zone name: use an IANA name such as America/New_York or Europe/Berlin", c.Site.Timezone)
	} else {
		c.Location = loc
	}
	k.required("store.path", c.Store.Path, "the journal file's path, e.g. /var/lib/callgate/journal.db")
	if c.Store.GuestRetentionDays < 0 {
		k.add("store.guest_retention_days", "%d is negative: give the days to keep guest names after check-out", c.Store.GuestRetentionDays)
	}
	if c.Store.ReplayWindowDays < 1 || c.Store.ReplayWindowDays > 3650 {
		k.add("store.replay_window_days", "%d is not from 1 to 3650: give the days a PBX's replayed record is still recognised (45 is usual)", c.Store.ReplayWindowDays)
	}
	if c.Store.PostingNumberMax < 9 || c.Store.PostingNumberMax > 99_999_999 {
		k.add("store.posting_number_max", "%d is not from 9 to 99999999 (FIAS posting numbers have at most 8 digits; 9999 for a PMS that keeps 4)", c.Store.PostingNumberMax)
	}
	if c.Store.RetentionMonths < 0 {
		k.add("store.retention_months", "%d is negative: give the months to keep closed entries, or 0 to keep them all", c.Store.RetentionMonths)
	}
	c.validatePBX(k)
	c.validatePMS(k)
	c.validateRooms(k)
	if k.required("tariff", c.Tariff, "the path of the tariff file") {
		k.tariff(c.Resolve(c.Tariff))
	}
	if c.Alarms.PMSDownMinutes < 1 {
		k.add("alarms.pms_down_minutes", "%d: give the minutes (1 or more) the PMS link may be down before the alarm", c.Alarms.PMSDownMinutes)
	}
	if c.Alarms.QueueMinutes < 1 {
		k.add("alarms.queue_minutes", "%d: give the minutes (1 or more) a posting may wait before the alarm", c.Alarms.QueueMinutes)
	}
	c.validateReport(k)
	c.validateDelivery(k)
	if k.required("console.listen", c.Console.Listen, "the console's address, e.g. 127.0.0.1:8080") {
		k.hostPort("console.listen", c.Console.Listen, false)
	}
	if (c.Console.TLSCert == "") != (c.Console.TLSKey == "") {
		k.add("console.tls_cert", "give both console.tls_cert and console.tls_key, or neither")
	}
	for key, f := range map[string]string{"console.tls_cert": c.Console.TLSCert, "console.tls_key": c.Console.TLSKey} {
		if f != "" {
			if _, err := os.Stat(c.Resolve(f)); err != nil {
				k.add(key, "cannot read %s: %v", c.Resolve(f), unwrapPathError(err))
			}
		}
	}
	if c.Console.MaskDigits < 0 || c.Console.MaskDigits > 20 {
		k.add("console.mask_digits", "%d: give how many leading digits (0 to 20) of a dialed number the front desk sees", c.Console.MaskDigits)
	}
	return k.problems
}

// tariff loads the tariff the config names, reporting its problems under the
// config's tariff key.
func (k *checker) tariff(path string) { k.tariffAt("tariff", path) }

// tariffAt loads a tariff file named by the config's key, reporting its
// problems under that key.
func (k *checker) tariffAt(key, path string) {
	_, err := tariff.Load(path)
	var problems tariff.Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			k.add(key, "%s: %s", path, p)
		}
	case err != nil:
		k.add(key, "cannot read %s: %v", path, unwrapPathError(errors.Unwrap(err)))
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (c *Config) validatePBX(k *checker) {
	p := &c.PBX
	if k.required("pbx.format", p.Format, "a PBX format: one of "+strings.Join(pbx.FormatNames(), ", ")) {
		k.oneOf("pbx.format", p.Format, pbx.FormatNames())
	}
	if !k.required("pbx.transport", p.Transport, "one of "+strings.Join(transports, ", ")) {
		return
	}
	k.oneOf("pbx.transport", p.Transport, transports)
	switch p.Transport {
	case "serial":
		if p.Serial == nil {
			k.add("pbx.serial", "missing: transport serial needs serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}")
		} else {
			k.serial("pbx.serial", p.Serial)
		}
	case "tcp-listen":
		if k.required("pbx.listen", p.Listen, `transport tcp-listen needs the address to listen on, e.g. "0.0.0.0:5100"`) {
			k.hostPort("pbx.listen", p.Listen, false)
		}
		for i, a := range p.Allow {
			if _, _, err := net.ParseCIDR(a); err != nil && net.ParseIP(a) == nil {
				k.add(fmt.Sprintf("pbx.allow[%d]", i), "%q is not an IP address or CIDR range like 10.0.0.5 or 10.0.0.0/24", a)
			}
		}
	case "tcp-dial":
		if k.required("pbx.dial", p.Dial, `transport tcp-dial needs the PBX's SMDR address, e.g. "10.0.0.5:1752"`) {
			k.hostPort("pbx.dial", p.Dial, true)
		}
	case "file":
		k.required("pbx.file", p.File, "transport file needs the path of the file to follow")
	}
	if p.Password != "" && (p.Format != "mitel-5000" || p.Transport != "tcp-dial") {
		k.add("pbx.password", "is the Mitel 5000 SMDR login, only used with format mitel-5000 and transport tcp-dial")
	}
	if len(p.Password) > 15 {
		k.add("pbx.password", "is longer than the 15 characters a Mitel 5000 accepts")
	}
	if p.SilenceMinutes < 0 {
		k.add("pbx.silence_minutes", "%d is negative: give minutes, or 0 to turn the alarm off", p.SilenceMinutes)
	}
	if p.Format == "template" && p.Template == nil {
		k.add("pbx.template", "missing: format template needs a template: section describing the layout")
	}
	if p.Template != nil && p.Format != "template" {
		k.add("pbx.template", "is only read with format template, not %q: remove it or set pbx.format: template", p.Format)
	}
	if p.CMFields != nil && p.Format != "avaya-cm" {
		k.add("pbx.cm_fields", "is only read with format avaya-cm, not %q", p.Format)
	}
	c.validateLayouts(k)
}

func (k *checker) serial(key string, s *SerialConfig) {
	k.required(key+".device", s.Device, "the serial device, e.g. /dev/ttyUSB0 (better: a stable /dev/serial/by-id/ name)")
	if !slices.Contains(bauds, s.Baud) {
		k.add(key+".baud", "%d is not a standard baud rate: use one of %s", s.Baud, joinInts(bauds))
	}
	if s.DataBits < 5 || s.DataBits > 8 {
		k.add(key+".data_bits", "%d is not 5, 6, 7 or 8", s.DataBits)
	}
	k.oneOf(key+".parity", s.Parity, parities)
	k.oneOf(key+".stop_bits", s.StopBits, stopBits)
	k.oneOf(key+".flow_control", s.FlowControl, flowControls)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func (c *Config) validatePMS(k *checker) {
	p := &c.PMS
	k.oneOf("pms.protocol", p.Protocol, protocols)
	switch {
	case p.Address != "" && p.Serial != nil:
		k.add("pms.serial", "given with pms.address: use one, the TCP address or the serial port")
	case p.Address != "":
		k.hostPort("pms.address", p.Address, true)
	case p.Serial != nil:
		k.serial("pms.serial", p.Serial)
	default:
		k.add("pms.address", `missing: give the PMS interface's address (e.g. "10.0.0.20:5010") or a serial: section`)
	}
	k.oneOf("pms.interface_family", p.InterfaceFamily, interfaceFamilies)
	if p.AmountExponent < 0 || p.AmountExponent > 4 {
		k.add("pms.amount_exponent", "%d is not from 0 to 4: it is the number of implied decimals the PMS expects in amounts", p.AmountExponent)
	}
	k.oneOf("pms.code_page", strings.ToLower(p.CodePage), codePages)
	if so := p.Posting.SalesOutlet; so != "" {
		if n, ok := digitsOnly(so); !ok || n > 5 {
			k.add("pms.posting.sales_outlet", "%q is not a number of at most 5 digits (FIAS SO)", so)
		}
	}
	if p.Protocol == "fias" {
		// FIAS's own rules, for keys the checks above leave alone.
		seen := map[string]bool{}
		for _, pr := range k.problems {
			seen[pr.Key] = true
		}
		for _, pr := range p.FIASOptions().Check() {
			switch key := "pms." + pr.Key; {
			case seen[key], key == "pms.address", key == "pms.serial", key == "pms.interface_family",
				key == "pms.amount_exponent", key == "pms.code_page", key == "pms.posting.sales_outlet":
			default:
				k.add(key, "%s", pr.Msg)
			}
		}
	}
}

// FIASOptions returns the FIAS link settings of the pms section (without
// logger, transcript writer or currency digits, which the caller adds).
func (p PMSConfig) FIASOptions() fias.Options {
	o := fias.Options{
		Address:         p.Address,
		InterfaceFamily: p.InterfaceFamily,
		VendorVersion:   p.VendorVersion,
		AmountExponent:  p.AmountExponent,
		CodePage:        strings.ToLower(p.CodePage),
		SalesOutlet:     p.Posting.SalesOutlet,
		CallTypes:       p.Posting.CallTypes,
		AnswerTimeout:   time.Duration(p.AnswerTimeoutS) * time.Second,
		AliveInterval:   time.Duration(p.AliveIntervalS) * time.Second,
	}
	if s := p.Serial; s != nil {
		stop, _ := strconv.ParseFloat(s.StopBits, 64)
		o.Serial = &fias.SerialOptions{Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity, StopBits: stop}
	}
	return o
}

func digitsOnly(s string) (int, bool) {
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	return len(s), s != ""
}

func (c *Config) validateRooms(k *checker) {
	r := &c.Rooms
	k.oneOf("rooms.default", r.Default, []string{"same", "none"})
	for ext, room := range r.Map {
		key := "rooms.map." + ext
		if _, ok := digitsOnly(ext); !ok {
			k.add(key, "extension %q is not digits", ext)
		}
		if strings.TrimSpace(room) == "" || strings.ContainsAny(room, "|\t\r\n") {
			k.add(key, "room %q is empty or holds a character a PMS cannot take", room)
		}
	}
	for i, rg := range r.Ranges {
		key := fmt.Sprintf("rooms.ranges[%d]", i)
		from, ok1 := strconv.Atoi(rg.From)
		to, ok2 := strconv.Atoi(rg.To)
		if _, d := digitsOnly(rg.From); ok1 != nil || !d {
			k.add(key+".from", "%q is not an extension number", rg.From)
			continue
		}
		if _, d := digitsOnly(rg.To); ok2 != nil || !d {
			k.add(key+".to", "%q is not an extension number", rg.To)
			continue
		}
		if from > to {
			k.add(key, "from %s is above to %s: swap them", rg.From, rg.To)
		}
		if from+rg.RoomOffset < 0 {
			k.add(key+".room_offset", "%d takes extension %s below room 0", rg.RoomOffset, rg.From)
		}
	}
	for i, nr := range r.NotRooms {
		if _, ok := gateway.ParseExtensionRange(nr); !ok {
			k.add(fmt.Sprintf("rooms.not_rooms[%d]", i), "%q is not an extension (250) or a range of extensions (200-299, low to high)", nr)
		}
	}
}
