package gateway

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Checker collects the Problems of a file a person writes (the config), for
// the checks each package runs on its own section: each problem gets the
// line of its key from Line (nil: no lines).
type Checker struct {
	Line     func(key string) int
	Problems Problems
}

// Add records a problem at key.
func (k *Checker) Add(key, format string, args ...any) {
	line := 0
	if k.Line != nil {
		line = k.Line(key)
	}
	k.Problems = append(k.Problems, Problem{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// OneOf records a problem when value is not one of valid.
func (k *Checker) OneOf(key, value string, valid []string) {
	if !slices.Contains(valid, value) {
		k.Add(key, "%q is not one of %s", value, strings.Join(valid, ", "))
	}
}

// HostPort records a problem when value is not host:port; needHost also
// refuses an empty host and port 0 (an address to dial, not to listen on).
func (k *Checker) HostPort(key, value string, needHost bool) {
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		k.Add(key, "%q is not an address like 10.0.0.5:5100", value)
		return
	}
	low := 1
	if !needHost {
		low = 0 // a listening address may ask for any free port
	}
	if n, err := strconv.Atoi(port); err != nil || n < low || n > 65535 {
		k.Add(key, "%q: port %q is not a number from %d to 65535", value, port, low)
	}
	if needHost && host == "" {
		k.Add(key, "%q has no host: give the other side's address, like 10.0.0.5:%s", value, port)
	}
}

// Required records "missing: what" when value is empty, and reports
// whether it is set.
func (k *Checker) Required(key, value, what string) bool {
	if value == "" {
		k.Add(key, "missing: %s", what)
		return false
	}
	return true
}

// LoopbackHost reports whether a listening host is this machine only:
// localhost or a loopback address ("" and 0.0.0.0 are every interface).
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
