package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"callgate/tariff"
)

// writeConfig writes a config and an empty tariff beside it and returns the
// config's path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tariff.yaml"), []byte(testTariff), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad-tariff.yaml"), []byte("version: 1\ncurrency: USX\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "callgate.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const testTariff = `version: 1
currency: USD
dialing: {international_prefix: "011", national_prefix: "1", country_code: "1", national_number_length: 10}
bands: [{name: all}]
destinations: [{prefix: "1", name: USA, class: national, rate: 10}]
`

const goodConfig = `site: {name: Grand Hotel, timezone: America/New_York}
store: {path: /var/lib/callgate/journal.db}
pbx:
  format: avaya-ipo
  transport: serial
  serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}
pms:
  protocol: fias
  address: "10.0.0.20:5010"
tariff: tariff.yaml
`

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not Problems", err)
	}
	return ps
}

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Location == nil || c.Location.String() != "America/New_York" {
		t.Errorf("location = %v", c.Location)
	}
	if c.PMS.AmountExponent != 2 || c.PMS.CodePage != "windows-1252" || c.PMS.InterfaceFamily != "CA" {
		t.Errorf("pms defaults not applied: %+v", c.PMS)
	}
	if c.Rooms.Default != "same" || c.Console.Listen != "127.0.0.1:8080" || c.Store.GuestRetentionDays != 30 {
		t.Errorf("defaults not applied: rooms %+v console %+v store %+v", c.Rooms, c.Console, c.Store)
	}
	if c.PBX.Serial.FlowControl != "none" || c.PBX.SilenceMinutes != 60 {
		t.Errorf("pbx defaults not applied: %+v %+v", c.PBX, c.PBX.Serial)
	}
	if got := c.Resolve(c.Tariff); got != filepath.Join(filepath.Dir(c.Path), "tariff.yaml") {
		t.Errorf("tariff resolves to %s", got)
	}
}

// TestConfigAllProblems is the acceptance case: a typo'd key and a
// bad value, both reported with their lines in one run.
func TestConfigAllProblems(t *testing.T) {
	body := strings.Replace(goodConfig, "parity: none", "parity: noen", 1)
	body = strings.Replace(body, "  protocol: fias", "  protocl: fias", 1)
	_, err := LoadConfig(writeConfig(t, body))
	ps := problemsOf(t, err)
	want := []string{
		`pbx.serial.parity: line 6: "noen" is not one of none, odd, even, mark, space`,
		`pms.protocl: line 8: unknown key (did you mean protocol?)`,
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	text := ps.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("problems do not say %q:\n%s", w, text)
		}
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"bad zone", "America/New_York", "America/Nowhere", `site.timezone: line 1: "America/Nowhere" is not a time zone name`},
		{"bad format", "format: avaya-ipo", "format: avaya", `pbx.format: line 4: "avaya" is not one of`},
		{"bad transport", "transport: serial", "transport: rs232", `pbx.transport: line 5: "rs232" is not one of serial, tcp-listen, tcp-dial, file`},
		{"bad baud", "baud: 9600", "baud: 9601", `pbx.serial.baud: line 6: 9601 is not a standard baud rate`},
		{"baud not a number", "baud: 9600", "baud: fast", `pbx.serial.baud: line 6: "fast" is not a whole number`},
		{"bad data bits", "data_bits: 8", "data_bits: 9", `pbx.serial.data_bits: line 6: 9 is not 5, 6, 7 or 8`},
		{"bad stop bits", "stop_bits: 1", "stop_bits: 3", `pbx.serial.stop_bits: line 6: "3" is not one of 1, 1.5, 2`},
		{"no device", "device: /dev/ttyUSB0, ", "", `pbx.serial.device: line 6: missing`},
		{"bad address", `"10.0.0.20:5010"`, `"10.0.0.20"`, `pms.address: line 9: "10.0.0.20" is not an address`},
		{"no host", `"10.0.0.20:5010"`, `":5010"`, `pms.address: line 9: ":5010" has no host`},
		{"bad port", `"10.0.0.20:5010"`, `"10.0.0.20:99999"`, `port "99999" is not a number from 1 to 65535`},
		{"missing tariff file", "tariff: tariff.yaml", "tariff: nothere.yaml", `tariff: line 10: cannot read`},
		{"serial is a string", "serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}", "serial: /dev/ttyUSB0", `pbx.serial: line 6: is "/dev/ttyUSB0", want a section of keys`},
		{"unknown top key", "tariff: tariff.yaml", "tariff: tariff.yaml\ntarif: x", `tarif: line 11: unknown key (did you mean tariff?)`},
		{"duplicate key", "tariff: tariff.yaml", "tariff: tariff.yaml\ntariff: tariff.yaml", `tariff: line 11: given twice (first on line 10)`},
		{"bad yaml", "tariff: tariff.yaml", "tariff: [tariff.yaml", `not valid YAML`},
		{"bad room range", "tariff: tariff.yaml", "tariff: tariff.yaml\nrooms: {ranges: [{from: \"3199\", to: \"3100\"}]}", `rooms.ranges[0]: line 11: from 3199 is above to 3100`},
		{"bad not_rooms", "tariff: tariff.yaml", "tariff: tariff.yaml\nrooms: {not_rooms: [\"2a0\"]}", `rooms.not_rooms[0]: line 11: "2a0" is not an extension`},
		{"bad default", "tariff: tariff.yaml", "tariff: tariff.yaml\nrooms: {default: all}", `rooms.default: line 11: "all" is not one of same, none`},
		{"both pms links", `address: "10.0.0.20:5010"`, "address: \"10.0.0.20:5010\"\n  serial: {device: /dev/ttyS1}", `pms.serial: line 10: given with pms.address`},
		{"bad exponent", `address: "10.0.0.20:5010"`, "address: \"10.0.0.20:5010\"\n  amount_exponent: 7", `pms.amount_exponent: line 10: 7 is not from 0 to 4`},
		{"bad code page", `address: "10.0.0.20:5010"`, "address: \"10.0.0.20:5010\"\n  code_page: ebcdic", `pms.code_page: line 10: "ebcdic" is not one of`},
		{"tcp-listen needs listen", "transport: serial", "transport: tcp-listen", `pbx.listen: line 3: missing`},
		{"bad tariff", "tariff: tariff.yaml", "tariff: bad-tariff.yaml", `tariff: line 10: ` + "%TMP%" + `bad-tariff.yaml: currency: line 2: "USX" is not an ISO 4217 currency code`},
		{"bool", "tariff: tariff.yaml", "tariff: tariff.yaml\nconsole: {listen: [1]}", `console.listen: line 11: is a list, want a single value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(goodConfig, tc.from, tc.to, 1)
			if body == goodConfig {
				t.Fatalf("replacing %q changed nothing", tc.from)
			}
			path := writeConfig(t, body)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("no problem reported, want %q", tc.want)
			}
			tc.want = strings.ReplaceAll(tc.want, "%TMP%", filepath.Dir(path)+"/")
			if text := err.Error(); !strings.Contains(text, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", text, tc.want)
			}
		})
	}
}

// TestExampleConfigs loads every config in configs/ so that none can rot, and
// checks that every tariff there is valid YAML.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least 3 example configs, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if isCentralConfig(data) {
				if _, err := LoadCentralConfig(f); err != nil {
					t.Errorf("%s (a central's config):\n%v", f, err)
				}
				return
			}
			data = withExampleSecrets(t, f, data)
			c, err := ParseConfig(data, f)
			if err != nil {
				t.Errorf("%s:\n%v", f, err)
			}
			// An example is what people copy: no open PBX port, no plain
			// console on the network (issue 14, D4).
			if c != nil {
				if w := configWarnings(c); len(w) > 0 {
					t.Errorf("%s: warnings:\n%v", f, w)
				}
			}
		})
	}
	tariffs, _ := filepath.Glob("../../configs/tariffs/*.yaml")
	if len(tariffs) < 2 {
		t.Fatal("want at least two example tariffs in configs/tariffs")
	}
	for _, f := range tariffs {
		if _, err := tariff.Load(f); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
}

// exampleSecret is a secret file key of an example config and its path.
var exampleSecret = regexp.MustCompile(`(?m)^(\s+[a-z_]*(?:secret|token|password)_file:\s*)(\S+)`)

// withExampleSecrets points the secret files an example names (the
// place a real installation keeps them, /etc/callgate/…, which gateway
// check reads) at files in a temporary folder holding a made-up secret.
// A made-up secret committed in configs/ would be copied along with the
// example; this way the example stays as it must be deployed. A cloud PMS
// example must name its secrets in files under /etc/callgate, never
// inline.
func withExampleSecrets(t *testing.T, f string, data []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	n := 0
	data = exampleSecret.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := exampleSecret.FindSubmatch(m)
		if !strings.HasPrefix(string(sub[2]), "/etc/callgate/") {
			t.Errorf("%s: %s names %s: keep secrets in /etc/callgate/, readable by the gateway's user only", f, strings.TrimSpace(string(sub[1])), sub[2])
		}
		p := filepath.Join(dir, filepath.Base(string(sub[2])))
		if err := os.WriteFile(p, []byte("made-up-example-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		n++
		return append(append([]byte{}, sub[1]...), p...)
	})
	if regexp.MustCompile(`(?m)^  protocol: (opera-cloud|mews|apaleo)\s*$`).Match(data) && n == 0 {
		t.Errorf("%s: a cloud PMS example names no secret file", f)
	}
	return data
}

func TestConfigCMFields(t *testing.T) {
	body := strings.Replace(goodConfig, "format: avaya-ipo", "format: avaya-cm\n  cm_fields:\n    - {name: date, width: 6}\n    - {name: tiem, width: 4}", 1)
	_, err := LoadConfig(writeConfig(t, body))
	if err == nil || !strings.Contains(err.Error(), "pbx.cm_fields[1].name: line 7: \"tiem\" is not a data item") {
		t.Errorf("problems:\n%v", err)
	}
}
