package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"callgate/pbx"
)

// run runs gateway with args and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// lockedBuffer is a bytes.Buffer that goroutines may write at once: the
// command's logger writes from the PMS link's and the PBX source's
// goroutines too. wait blocks until what was written meets a condition.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // gets a signal after each write (made by the first wait or write)
}

// syncBuffer is the name some tests know lockedBuffer by.
type syncBuffer = lockedBuffer

func (l *lockedBuffer) signal() chan struct{} {
	if l.written == nil {
		l.written = make(chan struct{}, 1)
	}
	return l.written
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.signal() <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wait blocks until cond holds for what was written, checking after each
// write; false after timeout.
func (l *lockedBuffer) wait(timeout time.Duration, cond func(string) bool) bool {
	l.mu.Lock()
	written := l.signal()
	l.mu.Unlock()
	deadline := time.After(timeout)
	for !cond(l.String()) {
		select {
		case <-written:
		case <-deadline:
			return cond(l.String())
		}
	}
	return true
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}} {
		t.Run(args[0], func(t *testing.T) {
			code, out, _ := run(t, "", args...)
			if code != 0 {
				t.Errorf("%v: exit %d", args, code)
			}
			for _, c := range commands() {
				if !strings.Contains(out, "\n  "+c.name+" ") {
					t.Errorf("%v does not list %s:\n%s", args, c.name, out)
				}
			}
		})
	}
	code, _, errOut := run(t, "")
	if code != 2 || !strings.Contains(errOut, "Commands:") {
		t.Errorf("no command: exit %d, stderr %q", code, errOut)
	}
}

func TestCommandHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := run(t, "", c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: gateway "+c.name) || !strings.Contains(out, "-log-level") {
			t.Errorf("%s --help: exit %d\n%s", c.name, code, out)
		}
		code2, out2, _ := run(t, "", "help", c.name)
		if code2 != 0 || out2 != out {
			t.Errorf("help %s differs from %s --help", c.name, c.name)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, errOut := run(t, "", "frobnicate")
	if code != 2 || errOut != "gateway: unknown command \"frobnicate\": run gateway help for the list\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "", "check", "--nope")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined: -nope") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "gateway ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("exit %d, %q", code, out)
	}
}

// ptyDevice opens a pseudo-terminal and returns its serial end's path: a
// serial device that exists on any Linux machine.
func ptyDevice(t *testing.T) string {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	return slave.Name()
}

func TestCheck(t *testing.T) {
	// The journal next to the config: gateway check looks at its folder.
	good := strings.Replace(goodConfig, "/var/lib/callgate/journal.db", "journal.db", 1)
	withPTY := strings.Replace(good, "/dev/ttyUSB0", ptyDevice(t), 1)
	code, out, _ := run(t, "", "check", "--config", writeConfig(t, withPTY))
	if code != 0 || out != "config OK\n" {
		t.Errorf("good config: exit %d, %q", code, out)
	}
	code, out, _ = run(t, "", "check", "--config", writeConfig(t, strings.Replace(good, "/dev/ttyUSB0", "/dev/ttyNOPE9", 1)))
	if code != 1 || !strings.Contains(out, "pbx.serial.device: line 6: /dev/ttyNOPE9 does not exist on this machine") {
		t.Errorf("missing device: exit %d, %q", code, out)
	}
	bad := strings.Replace(strings.Replace(withPTY, "parity: none", "parity: noen", 1), "  protocol: fias", "  protocl: fias", 1)
	code, out, errOut := run(t, "", "check", "--config", writeConfig(t, bad))
	if code != 1 {
		t.Errorf("bad config: exit %d", code)
	}
	if !strings.Contains(out, "pbx.serial.parity: line 6:") || !strings.Contains(out, "pms.protocl: line 8: unknown key") {
		t.Errorf("bad config output:\n%s", out)
	}
	if !strings.Contains(errOut, "has 2 problems") {
		t.Errorf("bad config stderr: %q", errOut)
	}
	code, _, errOut = run(t, "", "check", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "cannot read config file") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	code, _, errOut = run(t, "", "check")
	if code != 2 || !strings.Contains(errOut, "--config") {
		t.Errorf("no --config: exit %d, %q", code, errOut)
	}
}

// TestCheckStorePath (issue 14, D14): gateway check refuses a store.path
// that serve cannot open, naming the fix, and creates nothing.
func TestCheckStorePath(t *testing.T) {
	dir := t.TempDir()
	withPTY := strings.Replace(goodConfig, "/dev/ttyUSB0", ptyDevice(t), 1)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "nope", "journal.db"), "store.path: line 2: the folder " + filepath.Join(dir, "nope") + " for the journal does not exist: create it"},
		{dir, "store.path: line 2: " + dir + " is a folder, not the journal file: give a file in it"},
	} {
		code, out, _ := run(t, "", "check", "--config", writeConfig(t, strings.Replace(withPTY, "/var/lib/callgate/journal.db", tc.path, 1)))
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("store.path %s: exit %d, %q, want %q", tc.path, code, out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("check created the folder: %v", err)
	}
}

// TestCheckWarnings (issue 14, D4): a PBX port open to the network without
// pbx.allow and a console on a non-loopback address without TLS are
// warnings: printed with their lines, and the check still passes (exit 0).
func TestCheckWarnings(t *testing.T) {
	open := strings.Replace(goodConfig, "/var/lib/callgate/journal.db", "journal.db", 1)
	open = strings.Replace(open, "  transport: serial\n  serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}\n",
		"  transport: tcp-listen\n  listen: \"0.0.0.0:5100\"\n", 1) + "console: {listen: \"0.0.0.0:8080\"}\n"
	code, out, _ := run(t, "", "check", "--config", writeConfig(t, open))
	for _, want := range []string{
		"warning: pbx.listen: line 6: 0.0.0.0:5100 accepts SMDR from every address",
		"set pbx.allow to the PBX's address",
		"warning: console.listen: line 11: 0.0.0.0:8080 serves the console (passwords, session cookies, guest names) over plain HTTP",
		"config OK, with 2 warnings\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output:\n%s\nwant %q", code, out, want)
		}
	}
	closed := strings.Replace(open, `listen: "0.0.0.0:5100"`, `listen: "0.0.0.0:5100"`+"\n  allow: [10.0.0.5]", 1)
	closed = strings.Replace(closed, `console: {listen: "0.0.0.0:8080"}`, `console: {listen: "127.0.0.1:8080"}`, 1)
	if code, out, _ := run(t, "", "check", "--config", writeConfig(t, closed)); code != 0 || out != "config OK\n" {
		t.Errorf("with allow and a loopback console: exit %d, %q", code, out)
	}
}

const ipoRecord = "2024/11/05 18:40:02,00:01:35,4,415,O,6175550134,6175550134,,0,1004211,0,E415,Room 415,T9005,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,\r\n"

func TestParse(t *testing.T) {
	code, out, errOut := run(t, ipoRecord+"not a record\r\n\r\n", "parse", "--format", "avaya-ipo", "--tz", "America/New_York")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a call and an error line, got:\n%s", out)
	}
	var call map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &call); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"format", "extension", "dialed", "start", "duration_s", "direction", "trunk", "account_code", "answered", "caller_id", "ring_s", "raw"} {
		if _, ok := call[key]; !ok {
			t.Errorf("call has no key %q: %s", key, lines[0])
		}
	}
	if call["start"] != "2024-11-05T18:40:02" || call["start_utc"] != "2024-11-05T23:40:02Z" || call["duration_s"] != 95.0 {
		t.Errorf("call: %s", lines[0])
	}
	var bad map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &bad); err != nil || bad["raw"] != "not a record" || bad["error"] == "" {
		t.Errorf("error line: %s", lines[1])
	}
}

func TestParseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smdr.txt")
	if err := os.WriteFile(path, []byte(ipoRecord), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "", "parse", "--format", "avaya-ipo", path)
	if code != 0 || !strings.Contains(out, `"start_utc":"2024-11-05T18:40:02Z"`) {
		t.Errorf("default zone is UTC: exit %d %s", code, out)
	}
	code, _, errOut := run(t, "", "parse", "--format", "avaya-ipo", path+".missing")
	if code != 1 || !strings.Contains(errOut, "cannot read") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
}

func TestParseUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"parse"}, "parse needs --format"},
		{[]string{"parse", "--format", "nope"}, `unknown PBX format "nope": use one of`},
		{[]string{"parse", "--format", "avaya-ipo", "--tz", "Mars/Base"}, `--tz "Mars/Base" is not a time zone name`},
		{[]string{"parse", "--format", "avaya-ipo", "--received", "yesterday"}, `--received "yesterday" is not a time`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := run(t, "", tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
			}
		})
	}
}

func TestFormatsCommand(t *testing.T) {
	code, out, _ := run(t, "", "formats")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != len(pbx.Formats()) {
		t.Fatalf("exit %d, want one line a format:\n%s", code, out)
	}
	for i, f := range pbx.Formats() {
		if !strings.HasPrefix(lines[i], f.Name+" ") || !strings.Contains(lines[i], f.Description) {
			t.Errorf("line %d: %q, want %s and its description", i+1, lines[i], f.Name)
		}
	}
	_, verbose, _ := run(t, "", "formats", "-v")
	if !strings.Contains(verbose, "PBX settings:") {
		t.Errorf("formats -v has no settings:\n%s", verbose)
	}
}

// TestLogger: a bad --log-level is a usage mistake (the logger itself is
// internal/logging's, tested there).
func TestLogger(t *testing.T) {
	code, _, errOut := run(t, "", "--log-level", "loud", "version")
	if code != 2 || !strings.Contains(errOut, `--log-level "loud"`) {
		t.Errorf("bad level: exit %d %q", code, errOut)
	}
}

func TestRate(t *testing.T) {
	tariffPath := filepath.Join(filepath.Dir(writeConfig(t, goodConfig)), "tariff.yaml")
	calls := `{"format":"x","extension":"415","dialed":"6175550134","start":"2026-11-25T10:00:00","duration_s":95,"direction":"out","answered":true,"extra":"kept"}

{"start":"2026-11-25T10:00:00","direction":"sideways","duration_s":0}
not json
{"format":"x","dialed":"415","start":"2026-11-25T10:00:00","duration_s":5,"direction":"internal","class":"stale"}
`
	code, out, errOut := run(t, calls, "rate", "--tariff", tariffPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines (blank skipped), got:\n%s", out)
	}
	// Every input field kept, in order, the charge added: 95 s at 10/min with
	// increments [60,60] (default) = 120 s → 20 cents, no guest block.
	if !strings.HasPrefix(lines[0], `{"format":"x","extension":"415","dialed":"6175550134","start":"2026-11-25T10:00:00","duration_s":95,"direction":"out","answered":true,"extra":"kept","class":"national","destination":"USA","prefix":"1","e164":"16175550134"`) ||
		!strings.Contains(lines[0], `"billable_s":120,"chargeable":true,"carrier_minor":20,"markup_minor":0,"surcharge_minor":0,"tax_minor":0,"total_minor":20,"currency":"USD","tariff_version":"base","exception":null}`) {
		t.Errorf("rated line:\n%s", lines[0])
	}
	if lines[1] != `{"error":"not a call: direction \"sideways\" is not one of out, in, internal","line":3}` {
		t.Errorf("bad call line: %s", lines[1])
	}
	if !strings.HasPrefix(lines[2], `{"error":"not a JSON object`) || !strings.HasSuffix(lines[2], `"line":4}`) {
		t.Errorf("bad JSON line: %s", lines[2])
	}
	// A line rated before is rated again: its old charge fields are replaced.
	if strings.Count(lines[3], `"class"`) != 1 || !strings.Contains(lines[3], `"class":"internal"`) {
		t.Errorf("re-rated line: %s", lines[3])
	}
	code, out, _ = run(t, "", "rate", "--tariff", tariffPath, "--check")
	if code != 0 || !strings.HasPrefix(out, "tariff OK: currency USD") {
		t.Errorf("--check: exit %d %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\ncurrency: USX\nbands: [{name: a}]\n"), 0o644)
	code, out, errOut = run(t, "", "rate", "--tariff", bad, "--check")
	if code != 1 || !strings.Contains(out, `currency: line 2: "USX"`) || !strings.Contains(errOut, "refused as a whole") {
		t.Errorf("bad tariff: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = run(t, "", "rate")
	if code != 2 || !strings.Contains(errOut, "--tariff") {
		t.Errorf("no tariff: exit %d %q", code, errOut)
	}
}

func TestParseThenRate(t *testing.T) {
	_, parsed, _ := run(t, ipoRecord, "parse", "--format", "avaya-ipo", "--tz", "America/New_York")
	code, out, _ := run(t, parsed, "rate", "--tariff", "../../configs/tariffs/usa.yaml")
	// 18:40 on Tuesday 2024-11-05: evening; 95 s national, [60, 6] → 96 s at 10 = 16; +8 markup +100; tax 8.875 % of 124 = 11.005 → 12.
	if code != 0 || !strings.Contains(out, `"band":"evening","billable_s":96,"chargeable":true,"carrier_minor":16,"markup_minor":8,"surcharge_minor":100,"tax_minor":12,"total_minor":136`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestCapture(t *testing.T) {
	dir := t.TempDir()
	smdr := filepath.Join(dir, "smdr.log")
	if err := os.WriteFile(smdr, []byte(ipoRecord), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(goodConfig, "  transport: serial\n  serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}\n",
		"  transport: file\n  file: "+smdr+"\n  file_from_start: true\n", 1)
	path := writeConfig(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- Run(ctx, []string{"capture", "--config", path}, strings.NewReader(""), &out, &errOut) }()
	waitFor := func(what string, lines int) {
		t.Helper()
		if !out.wait(5*time.Second, func(s string) bool { return strings.Count(s, "\n") >= lines }) {
			cancel()
			t.Fatalf("timed out waiting for %s; stdout:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
		}
	}
	waitFor("the first call", 1)
	f, err := os.OpenFile(smdr, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Replace(ipoRecord, "1004211", "1004299", 1) + "garbage\r\n")
	f.Close()
	waitFor("the appended records", 3)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"call_id":"1004211"`) || !strings.Contains(lines[1], `"call_id":"1004299"`) ||
		!strings.HasPrefix(lines[2], `{"error":`) {
		t.Errorf("capture output:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "capture stopped") {
		t.Errorf("no stop line in the log:\n%s", errOut.String())
	}
}

func TestConfigTransportKeys(t *testing.T) {
	listen := strings.Replace(goodConfig, "  transport: serial\n  serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}\n",
		"  transport: tcp-listen\n  listen: \"0.0.0.0:5100\"\n  allow: [10.0.0.5, 10.1.0.0/16, pbx.local]\n  password: secret\n", 1)
	_, err := LoadConfig(writeConfig(t, listen))
	for _, want := range []string{`pbx.allow[2]: line 7: "pbx.local" is not an IP address or CIDR range`, "pbx.password: line 8: is the Mitel 5000 SMDR login"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems:\n%v\nwant %q", err, want)
		}
	}
}

func TestErlang(t *testing.T) {
	code, out, _ := run(t, "", "erlang", "--traffic", "8.108", "--trunks", "15")
	if code != 0 || !strings.HasPrefix(out, "0.0100") || !strings.Contains(out, "(1.00 %)") {
		t.Errorf("exit %d: %q", code, out)
	}
	for _, gos := range []string{"0.01", "1%"} {
		t.Run("--gos "+gos, func(t *testing.T) {
			code, out, _ := run(t, "", "erlang", "--traffic", "8.108", "--gos", gos)
			if code != 0 || !strings.HasPrefix(out, "15 trunks for 8.108 erlangs at 1.00 % blocking") {
				t.Errorf("--gos %s: exit %d: %q", gos, code, out)
			}
		})
	}
	for _, args := range [][]string{
		{"erlang", "--trunks", "15"},
		{"erlang", "--traffic", "8", "--trunks", "15", "--gos", "1%"},
		{"erlang", "--traffic", "8", "--gos", "150%"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, _ := run(t, "", args...); code != 2 {
				t.Errorf("%v: exit %d, want 2", args, code)
			}
		})
	}
}

// TestServeStartFailure: a console address already taken stops serve with a
// sentence, closing what it had opened (the journal can be opened again).
func TestServeStartFailure(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := strings.Replace(goodConfig, "  transport: serial\n  serial: {device: /dev/ttyUSB0, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}\n",
		"  transport: tcp-listen\n  listen: \"127.0.0.1:0\"\n", 1)
	cfg = strings.Replace(cfg, "store: {path: /var/lib/callgate/journal.db}", "store: {path: "+filepath.Join(dir, "j.db")+"}", 1)
	cfg = strings.Replace(cfg, `address: "10.0.0.20:5010"`, `address: "127.0.0.1:9"`, 1)
	cfg += "console: {listen: \"" + busy.Addr().String() + "\"}\n"
	path := writeConfig(t, cfg)
	code, _, errOut := run(t, "", "serve", "--config", path)
	if code != 1 || !strings.Contains(errOut, "console.listen "+busy.Addr().String()) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Everything was closed: the journal opens again at once.
	code, _, errOut = run(t, "", "journal", "--config", path)
	if code != 0 {
		t.Errorf("the journal was left locked: exit %d: %s", code, errOut)
	}
}
