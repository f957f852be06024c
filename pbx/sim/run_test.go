package sim

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"callgate/pbx"
)

// runConfig is `gateway sim pbx` with its flags' defaults, printing 5 calls
// at once into out.
func runConfig(out *bytes.Buffer) RunConfig {
	return RunConfig{
		Format: "avaya-ipo", Rate: 0, Count: 5, Seed: 1, Rooms: "101-160", Admin: "201-212", FrontDesk: "200", Trunks: 8,
		Plan: "nanp", TZ: "America/New_York", Start: "2026-05-04T10:00:00", CallsPerHour: 30,
		Serial: pbx.SerialOptions{Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1}, Stdout: out, Logger: zerolog.Nop(),
	}
}

// TestRunStdout: with no transport the records go to Stdout, unechoed, and
// the same seed gives the same bytes.
func TestRunStdout(t *testing.T) {
	var a, b bytes.Buffer
	if err := Run(context.Background(), runConfig(&a)); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), runConfig(&b)); err != nil {
		t.Fatal(err)
	}
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two runs of one seed: %q and %q", a.String(), b.String())
	}
	if n := strings.Count(a.String(), "\r\n"); n < 5 {
		t.Errorf("%d records for 5 calls:\n%s", n, a.String())
	}
}

// TestRunFileEcho: records appended to a file are echoed on Stdout, one a
// line, without their line ends.
func TestRunFileEcho(t *testing.T) {
	var echo bytes.Buffer
	c := runConfig(&echo)
	c.File = filepath.Join(t.TempDir(), "smdr.log")
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if echo.Len() == 0 || strings.Contains(echo.String(), "\r") {
		t.Errorf("echo %q", echo.String())
	}
}

// TestRunConfigErrors: settings that cannot be used are usage errors, named
// by their flag; what the simulator itself refuses is not.
func TestRunConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*RunConfig)
		usage bool
		msg   string
	}{
		{"no format", func(c *RunConfig) { c.Format = "" }, true, "sim pbx needs --format NAME"},
		{"unknown format", func(c *RunConfig) { c.Format = "nope" }, true, `unknown PBX format "nope"`},
		{"template", func(c *RunConfig) { c.Format = "template" }, false, "the template format cannot be simulated"},
		{"two transports", func(c *RunConfig) { c.TCP, c.File = "127.0.0.1:1", "x" }, true, "give one of --serial, --tcp, --listen and --file"},
		{"rate 0 without count", func(c *RunConfig) { c.Count = 0 }, true, "--rate 0 prints calls as fast as it can"},
		{"start with a rate", func(c *RunConfig) { c.Rate = 2 }, true, "--start is for --rate 0"},
		{"rooms", func(c *RunConfig) { c.Rooms = "160-101" }, true, `--rooms: the range "160-101" runs backwards`},
		{"admin", func(c *RunConfig) { c.Admin = "x" }, true, "--admin: "},
		{"plan", func(c *RunConfig) { c.Plan = "mars" }, true, `--plan "mars" is not nanp or uk`},
		{"area", func(c *RunConfig) { c.Area = "2x2" }, false, `the area code "2x2" is not all digits`},
		{"tz", func(c *RunConfig) { c.TZ = "Moon/Base" }, true, `--tz "Moon/Base" is not a time zone name`},
		{"password", func(c *RunConfig) { c.Password = "x" }, true, "--password is the Mitel 5000 SMDR socket's"},
		{"start", func(c *RunConfig) { c.Start = "yesterday" }, true, "yesterday"},
		{"calls per hour", func(c *RunConfig) { c.CallsPerHour = 0 }, true, "--calls-per-hour must be above 0"},
		{"tcp address", func(c *RunConfig) { c.TCP = "nowhere" }, true, `--tcp: "nowhere" is not a host:port address`},
		{"serial port", func(c *RunConfig) { c.Serial.Device = filepath.Join(t.TempDir(), "ttyNOPE9") }, false, "ttyNOPE9 not found"},
		{"cr", func(c *RunConfig) { c.CROnly = true }, true, "--cr is for --format panasonic"},
		{"noise", func(c *RunConfig) { c.Noise = 1.5 }, false, "the share of calls with line noise must be between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := runConfig(&out)
			tc.mod(&c)
			err := Run(context.Background(), c)
			var ue *UsageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v (usage error %v), want %q (usage error %v)", err, errors.As(err, &ue), tc.msg, tc.usage)
			}
		})
	}
}
