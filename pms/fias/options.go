package fias

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Link. Durations left at zero take the defaults in
// their comments; tests shorten them.
type Options struct {
	// Address is IFC8's host:port (IFC8 is always the TCP server; the
	// gateway dials it and keeps one connection).
	Address string
	// Serial, instead of Address, is an RS-232 port speaking FIPS.
	Serial *SerialOptions

	// InterfaceFamily is LD's IF: CA (call accounting, the default) or PB
	// (the gateway also drives the PBX). It must match the interface set up
	// in OPERA.
	InterfaceFamily string
	// VendorVersion is LD's V#: up to 10 letters, digits and dots; default
	// "callgate".
	VendorVersion string
	// AmountExponent is the number of implied decimals the PMS reads in TA
	// (2 for most sites, even for currencies without minor units). It has
	// no default: 0 means no decimals.
	AmountExponent int
	// MinorDigits returns the decimals of a currency's minor unit (2 for
	// USD, 0 for JPY, 3 for KWD). nil means the amounts are already in the
	// PMS's implied decimals.
	MinorDigits func(currency string) (int, bool)
	// CodePage is one of CodePages; "" means windows-1252.
	CodePage string
	// SalesOutlet is PS's SO, sent when not empty (up to 5 digits).
	SalesOutlet string
	// CallTypes maps tariff classes to PS's PC; nil means DefaultCallTypes.
	CallTypes map[string]string

	// AnswerTimeout is how long a posting waits for its PA before it is in
	// doubt; 0 means 30 s.
	AnswerTimeout time.Duration
	// LinkTimeout is how long the PMS has to answer the link description,
	// or an alive check, with LA; 0 means 30 s.
	LinkTimeout time.Duration
	// ListenWait is how long to listen for the PMS's LS after connecting
	// before describing the link unasked; 0 means 3 s.
	ListenWait time.Duration
	// AliveInterval is how long the link may be silent before an alive
	// check (LS, expecting LA); 0 means 5 minutes, Oracle's minimum.
	AliveInterval time.Duration
	// DescribeEvery is the least time between two link descriptions (LD,
	// LRs, LA) in one connection: LSes that come sooner are answered by
	// one description when it is up. 0 means 10 s.
	DescribeEvery time.Duration
	// LEWait is how long Close waits for the PMS's LE; 0 means 2 s.
	LEWait time.Duration
	// ResyncTimeout is how long a resync may go without a record before it
	// is taken as over (incomplete); 0 means 60 s.
	ResyncTimeout time.Duration
	// NightAuditMax ends a night audit whose end (NE) never came; 0 means
	// 6 hours.
	NightAuditMax time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting; 0 means
	// 1 s and 60 s.
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds a TCP connect; 0 means 10 s.
	DialTimeout time.Duration

	// Transcript, if set, receives every record both ways, one line each
	// with its time (the debug log gets them too).
	Transcript io.Writer
	// Logger gets one line per link state change; the zero value logs
	// nothing.
	Logger zerolog.Logger
	// Now is the clock for DA/TI; nil means time.Now.
	Now func() time.Time
	// Location is the site's time zone (site.timezone): link records (LS,
	// LD, LA, DR, LE) carry DA/TI as wall clock in it. nil means the
	// host's zone, time.Local.
	Location *time.Location

	// attempted, if set, is told how each attempt to connect ended (tests:
	// OnAttempt in export_test.go).
	attempted func(err error)
}

// SerialOptions is a FIAS serial port (FIPS full duplex). IFC8 uses 8 data
// bits, 1 stop bit and the parity and speed set at install (9600 must work).
type SerialOptions struct {
	Device   string
	Baud     int     // 0 means 9600
	DataBits int     // 7 or 8; 0 means 8
	Parity   string  // none (default), odd, even
	StopBits float64 // 1 (default) or 2
	// AckTimeout is the FIPS ACK/NAK wait; 0 means 3 s.
	AckTimeout time.Duration
}

// Problem is one thing wrong in Options, named by its config key under pms.
type Problem struct {
	Key string // "vendor_version", "alive_interval_s", …
	Msg string
}

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// Check returns what is wrong with the options, for gateway check: every
// problem, none when they can be used on a site. It also refuses answer
// timeouts under 30 s and alive intervals under 5 minutes, which Open
// accepts (tests shorten them).
func (o Options) Check() []Problem { return o.check(true) }

func (o Options) check(site bool) []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{key, fmt.Sprintf(format, args...)})
	}
	switch {
	case o.Address == "" && o.Serial == nil:
		add("address", "missing: give IFC8's address (e.g. 10.0.0.20:5010) or a serial port")
	case o.Address != "" && o.Serial != nil:
		add("serial", "given with an address: use one, the TCP address or the serial port")
	case o.Address != "":
		if _, _, err := net.SplitHostPort(o.Address); err != nil {
			add("address", "%q is not an address like 10.0.0.20:5010", o.Address)
		}
	case o.Serial.Device == "":
		add("serial.device", "missing: the serial device, e.g. /dev/ttyS1")
	}
	if o.Serial != nil {
		if o.Serial.DataBits != 0 && o.Serial.DataBits != 7 && o.Serial.DataBits != 8 {
			add("serial.data_bits", "%d: FIAS uses 8 data bits (7 allowed)", o.Serial.DataBits)
		}
		switch o.Serial.Parity {
		case "", "none", "odd", "even":
		default:
			add("serial.parity", "%q: FIAS uses none, odd or even", o.Serial.Parity)
		}
		if o.Serial.StopBits != 0 && o.Serial.StopBits != 1 && o.Serial.StopBits != 2 {
			add("serial.stop_bits", "%v: FIAS uses 1 stop bit", o.Serial.StopBits)
		}
	}
	switch o.InterfaceFamily {
	case "", "CA", "PB":
	default:
		add("interface_family", "%q is not CA (call accounting) or PB (PBX): it must match the interface set up in OPERA", o.InterfaceFamily)
	}
	if v := o.VendorVersion; len(v) > 10 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		add("vendor_version", "%q is not up to 10 letters, digits and dots (FIAS V#)", v)
	}
	if o.AmountExponent < 0 || o.AmountExponent > 4 {
		add("amount_exponent", "%d is not from 0 to 4", o.AmountExponent)
	}
	if _, err := NewCodec(o.CodePage); err != nil {
		add("code_page", "%v", err)
	}
	if so := o.SalesOutlet; so != "" && (len(so) > 5 || digits(so, 5) != so) {
		add("posting.sales_outlet", "%q is not a number of at most 5 digits (FIAS SO)", so)
	}
	for class, pc := range o.CallTypes {
		if len(pc) != 1 || !validID(pc+"0") {
			add("posting.call_types."+class, "%q is not one letter or digit (FIAS PC)", pc)
		}
	}
	if !site {
		return ps
	}
	if o.AnswerTimeout != 0 && o.AnswerTimeout < 30*time.Second {
		add("answer_timeout_s", "%v is shorter than the 30 s FIAS gives the PMS to answer a posting", o.AnswerTimeout)
	}
	if o.AliveInterval != 0 && o.AliveInterval < 5*time.Minute {
		add("alive_interval_s", "%v is shorter than the 5 minutes Oracle allows between alive checks", o.AliveInterval)
	}
	return ps
}

// withDefaults returns the options with zero durations and names set to
// their defaults.
func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AnswerTimeout, 30*time.Second)
	def(&o.LinkTimeout, 30*time.Second)
	def(&o.ListenWait, 3*time.Second)
	def(&o.AliveInterval, 5*time.Minute)
	def(&o.LEWait, 2*time.Second)
	def(&o.DescribeEvery, 10*time.Second)
	def(&o.ResyncTimeout, 60*time.Second)
	def(&o.NightAuditMax, 6*time.Hour)
	def(&o.MinBackoff, time.Second)
	def(&o.MaxBackoff, 60*time.Second)
	def(&o.DialTimeout, 10*time.Second)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.InterfaceFamily == "" {
		o.InterfaceFamily = "CA"
	}
	if o.VendorVersion == "" {
		o.VendorVersion = "callgate"
	}
	if o.CallTypes == nil {
		o.CallTypes = DefaultCallTypes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	return o
}
