package pbx

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/serialport"
)

func TestConfigCheck(t *testing.T) {
	ok := []Config{
		{Format: "avaya-ipo", Transport: "serial", Serial: &serialport.Config{Device: "/dev/ttyUSB0", Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}},
		{Format: "mitel-5000", Transport: "tcp-dial", Dial: "10.0.0.5:4000", Password: "secret"},
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100", Allow: []string{"10.0.0.5", "10.0.0.0/24"}},
		{Format: "asterisk", Transport: "file", File: "/var/log/asterisk/cdr-csv/Master.csv"},
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100", Allow: []string{"any"}, MaxConnections: 8, MaxConnectionsPerAddress: 2, EvictIdleSeconds: 30},
	}
	for _, c := range ok {
		k := &gateway.Checker{}
		c.Check(k)
		if len(k.Problems) != 0 {
			t.Errorf("%+v: %v", c, k.Problems)
		}
	}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Format: "avaya-ipo"}, "pbx.transport: missing: one of serial, tcp-listen, tcp-dial, file"},
		{Config{Format: "nope", Transport: "file", File: "x"}, `pbx.format: "nope" is not one of `},
		{Config{Format: "avaya-ipo", Transport: "serial"}, "pbx.serial: missing: transport serial needs serial:"},
		{Config{Format: "avaya-ipo", Transport: "serial", Serial: &serialport.Config{Device: "/dev/ttyS0", Baud: 7, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}}, "pbx.serial.baud: 7 is not a standard baud rate"},
		{Config{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100", Allow: []string{"pbx.local"}}, `pbx.allow[0]: "pbx.local" is not an IP address or CIDR range`},
		{Config{Format: "avaya-ipo", Transport: "tcp-dial", Dial: ":1752"}, `pbx.dial: ":1752" has no host`},
		{Config{Format: "avaya-ipo", Transport: "tcp-dial", Dial: "10.0.0.5:1752", Password: "x"}, "pbx.password: is the Mitel 5000 SMDR login"},
		{Config{Format: "avaya-ipo", Transport: "file", File: "x", SilenceMinutes: -1}, "pbx.silence_minutes: -1 is negative"},
		{Config{Format: "avaya-ipo", Transport: "tcp-listen", Listen: ":5100", EvictIdleSeconds: -1}, "pbx.evict_idle_seconds: -1 is negative"},
		{Config{Format: "avaya-ipo", Transport: "tcp-listen", Listen: ":5100", MaxConnections: 2, MaxConnectionsPerAddress: 4}, "pbx.max_connections_per_address: 4 is above pbx.max_connections 2"},
		{Config{Format: "template", Transport: "file", File: "x"}, "pbx.template: missing: format template needs a template:"},
		{Config{Format: "avaya-ipo", Transport: "file", File: "x", CMFields: []CMField{}}, `pbx.cm_fields: is only read with format avaya-cm, not "avaya-ipo"`},
	} {
		k := &gateway.Checker{}
		tc.c.Check(k)
		if !strings.Contains(k.Problems.Error(), tc.want) {
			t.Errorf("%+v: %q, want %q", tc.c, k.Problems.Error(), tc.want)
		}
	}
	c := Config{Format: "avaya-ipo", CMFields: []CMField{{Name: "date"}}}
	if o := c.ParserOptions(time.UTC); o.Location != time.UTC || len(o.CMFields) != 1 {
		t.Errorf("parser options %+v", o)
	}
}

// TestConfigWarn (issue 14, D4): a tcp-listen port open to every address
// without allow is a warning (not an error: an upgraded site keeps running);
// on loopback, with an allow-list or with allow: [any] it is not.
func TestConfigWarn(t *testing.T) {
	warn := func(c Config) string {
		k := &gateway.Checker{}
		c.Warn(k)
		return k.Problems.Error()
	}
	open := Config{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100"}
	if w := warn(open); !strings.Contains(w, "pbx.listen: 0.0.0.0:5100 accepts SMDR from every address") || !strings.Contains(w, "allow: [10.0.0.5]") {
		t.Errorf("open port: %q", w)
	}
	if w := warn(Config{Format: "avaya-ipo", Transport: "tcp-listen", Listen: ":5100"}); w == "" {
		t.Error("no warning for every interface (:5100)")
	}
	for _, c := range []Config{
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100", Allow: []string{"10.0.0.5"}},
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "0.0.0.0:5100", Allow: []string{"any"}},
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "127.0.0.1:5100"},
		{Format: "avaya-ipo", Transport: "tcp-listen", Listen: "localhost:5100"},
		{Format: "avaya-ipo", Transport: "tcp-dial", Dial: "10.0.0.5:1752"},
	} {
		if w := warn(c); w != "" {
			t.Errorf("%+v: %q", c, w)
		}
	}
	if w := warn(Config{Format: "avaya-ipo", Transport: "tcp-dial", Dial: "10.0.0.5:1752", Allow: []string{"10.0.0.5"}}); !strings.Contains(w, "only read with transport tcp-listen") {
		t.Errorf("allow with tcp-dial: %q", w)
	}
}
