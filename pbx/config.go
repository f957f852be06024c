package pbx

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/serialport"
)

// Config is the pbx section of the gateway's config file: how the PBX's
// call records are read (docs/design.md, "Configuration").
type Config struct {
	Format    string             `yaml:"format"`    // a name from `gateway formats`
	Transport string             `yaml:"transport"` // serial, tcp-listen, tcp-dial, file
	Serial    *serialport.Config `yaml:"serial"`
	Listen    string             `yaml:"listen"` // tcp-listen: address to listen on
	// Allow lists the addresses (IPs or CIDR ranges) that may connect to a
	// tcp-listen port: anyone who can connect can charge calls to rooms, so
	// set it to the PBX's address. Empty allows every address (gateway check
	// warns unless the port is on loopback); [any] allows every address on
	// purpose.
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
	SilenceMinutes int       `yaml:"silence_minutes"`
	Template       *Template `yaml:"template"`  // format template: the layout
	CMFields       []CMField `yaml:"cm_fields"` // format avaya-cm: the CDR form's field list

	// MaxConnections, MaxConnectionsPerAddress and EvictIdleSeconds limit a
	// tcp-listen port's connections (0: 16, 4 and 60; see ListenOptions and
	// docs/pbx-formats.md, "Who may connect").
	MaxConnections           int `yaml:"max_connections"`
	MaxConnectionsPerAddress int `yaml:"max_connections_per_address"`
	EvictIdleSeconds         int `yaml:"evict_idle_seconds"`
}

// Transports are the values of Config.Transport.
var Transports = []string{"serial", "tcp-listen", "tcp-dial", "file"}

// Check records the section's problems, under pbx.
func (p *Config) Check(k *gateway.Checker) {
	if k.Required("pbx.format", p.Format, "a PBX format: one of "+strings.Join(FormatNames(), ", ")) {
		k.OneOf("pbx.format", p.Format, FormatNames())
	}
	if !k.Required("pbx.transport", p.Transport, "one of "+strings.Join(Transports, ", ")) {
		return
	}
	k.OneOf("pbx.transport", p.Transport, Transports)
	switch p.Transport {
	case "serial":
		if p.Serial == nil {
			k.Add("pbx.serial", "missing: transport serial needs serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}")
		} else {
			p.Serial.Check("pbx.serial", func(key, msg string) { k.Add(key, "%s", msg) })
		}
	case "tcp-listen":
		if k.Required("pbx.listen", p.Listen, `transport tcp-listen needs the address to listen on, e.g. "0.0.0.0:5100"`) {
			k.HostPort("pbx.listen", p.Listen, false)
		}
		for i, a := range p.Allow {
			if _, _, err := net.ParseCIDR(a); err != nil && net.ParseIP(a) == nil && !IsAllowAny(a) {
				k.Add(fmt.Sprintf("pbx.allow[%d]", i), "%q is not an IP address or CIDR range like 10.0.0.5 or 10.0.0.0/24 (or any, to allow every address)", a)
			}
		}
		for key, v := range map[string]int{"pbx.max_connections": p.MaxConnections, "pbx.max_connections_per_address": p.MaxConnectionsPerAddress, "pbx.evict_idle_seconds": p.EvictIdleSeconds} {
			if v < 0 {
				k.Add(key, "%d is negative: give a positive number, or leave it out for the default", v)
			}
		}
		if p.MaxConnections > 0 && p.MaxConnectionsPerAddress > p.MaxConnections {
			k.Add("pbx.max_connections_per_address", "%d is above pbx.max_connections %d: lower it (4 is usual)", p.MaxConnectionsPerAddress, p.MaxConnections)
		}
	case "tcp-dial":
		if k.Required("pbx.dial", p.Dial, `transport tcp-dial needs the PBX's SMDR address, e.g. "10.0.0.5:1752"`) {
			k.HostPort("pbx.dial", p.Dial, true)
		}
	case "file":
		k.Required("pbx.file", p.File, "transport file needs the path of the file to follow")
	}
	if p.Password != "" && (p.Format != "mitel-5000" || p.Transport != "tcp-dial") {
		k.Add("pbx.password", "is the Mitel 5000 SMDR login, only used with format mitel-5000 and transport tcp-dial")
	}
	if len(p.Password) > 15 {
		k.Add("pbx.password", "is longer than the 15 characters a Mitel 5000 accepts")
	}
	if p.SilenceMinutes < 0 {
		k.Add("pbx.silence_minutes", "%d is negative: give minutes, or 0 to turn the alarm off", p.SilenceMinutes)
	}
	if p.Format == "template" && p.Template == nil {
		k.Add("pbx.template", "missing: format template needs a template: section describing the layout")
	}
	if p.Template != nil && p.Format != "template" {
		k.Add("pbx.template", "is only read with format template, not %q: remove it or set pbx.format: template", p.Format)
	}
	if p.CMFields != nil && p.Format != "avaya-cm" {
		k.Add("pbx.cm_fields", "is only read with format avaya-cm, not %q", p.Format)
	}
	// The installer-written layouts, through their own checks.
	if p.Template != nil {
		fieldProblems(k, "pbx.template", p.Template.Check())
	}
	if p.CMFields != nil {
		fieldProblems(k, "pbx.cm_fields", CheckCMFields(p.CMFields))
	}
}

// Warn records what is allowed but unsafe or unread (gateway check prints
// it as a warning, serve logs it): a tcp-listen port open to every address
// on a non-loopback interface without pbx.allow saying so, and the listening
// settings given to another transport.
func (p *Config) Warn(k *gateway.Checker) {
	if p.Transport != "tcp-listen" {
		if len(p.Allow) > 0 || p.MaxConnections != 0 || p.MaxConnectionsPerAddress != 0 || p.EvictIdleSeconds != 0 {
			k.Add("pbx.allow", "allow, max_connections, max_connections_per_address and evict_idle_seconds are only read with transport tcp-listen, not %s: they do nothing here; remove them", p.Transport)
		}
		return
	}
	if len(p.Allow) > 0 {
		return
	}
	host, _, err := net.SplitHostPort(p.Listen)
	if err != nil || gateway.LoopbackHost(host) {
		return
	}
	k.Add("pbx.listen", "%s accepts SMDR from every address, and anyone who can send SMDR can charge calls to rooms: "+
		"set pbx.allow to the PBX's address (allow: [10.0.0.5]), or allow: [any] to keep it open on purpose", p.Listen)
}

func fieldProblems(k *gateway.Checker, prefix string, probs []FieldProblem) {
	for _, p := range probs {
		key := prefix
		switch {
		case p.Field == "":
		case p.Field[0] == '[':
			key += p.Field
		default:
			key += "." + p.Field
		}
		k.Add(key, "%s", p.Msg)
	}
}

// Open opens the transport the section names (a file name in File must be
// resolved by the caller); onSilence is told when the PBX falls silent and
// speaks again.
func (p Config) Open(log zerolog.Logger, onSilence func(bool)) (Source, error) {
	f, err := LookupFormat(p.Format)
	if err != nil {
		return nil, err
	}
	so := SourceOptions{
		LengthPrefixed: f.LengthPrefixed,
		StripHighBit:   p.StripHighBit,
		Silence:        time.Duration(p.SilenceMinutes) * time.Minute,
		OnSilence:      onSilence,
		Logger:         log,
	}
	if p.SilenceMinutes == 0 {
		so.Silence = -1 // the alarm is off
	}
	switch p.Transport {
	case "serial":
		s := p.Serial
		return OpenSerial(SerialOptions{
			Device: s.Device, Baud: s.Baud, DataBits: s.DataBits, Parity: s.Parity,
			StopBits: s.StopBitsValue(), RTSCTS: s.FlowControl == "rts-cts",
		}, so)
	case "tcp-listen":
		return ListenTCP(ListenOptions{
			Address: p.Listen, Allow: p.Allow,
			MaxConns: p.MaxConnections, MaxConnsPerAddress: p.MaxConnectionsPerAddress,
			EvictIdle: time.Duration(p.EvictIdleSeconds) * time.Second,
		}, so)
	case "tcp-dial":
		return DialTCP(DialOptions{Address: p.Dial, Mitel5000Login: p.Password != "", Mitel5000Password: p.Password}, so)
	case "file":
		return FollowFile(FileOptions{Path: p.File, FromStart: p.FileFromStart}, so)
	}
	return nil, fmt.Errorf("pbx.transport %q is not one of %v", p.Transport, Transports)
}

// ParserOptions returns the options of the section's parser, reading wall
// clock time in loc.
func (p Config) ParserOptions(loc *time.Location) Options {
	return Options{Location: loc, Template: p.Template, CMFields: p.CMFields}
}
