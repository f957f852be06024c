package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"callgate/gateway"
	"callgate/pbx"
	pbxsim "callgate/pbx/sim"
	"callgate/tariff"
)

// runSimPBX runs `gateway sim pbx args` through Run, and returns its exit
// status and output.
func runSimPBX(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb syncBuffer
	code = Run(ctx, append([]string{"--log-format", "json", "--log-level", "warn", "sim", "pbx"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// parseAll parses a whole stream of format name, read on the evening of
// 2026-05-04 in New York.
func parseAll(t *testing.T, name string, data []byte) []gateway.Call {
	t.Helper()
	loc, _ := time.LoadLocation("America/New_York")
	p, err := pbx.NewParser(name, pbx.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	var calls []gateway.Call
	fr := pbx.Framer{LengthPrefixed: p.Format().LengthPrefixed}
	emit := func(b []byte, truncated bool) {
		c, err := p.Parse(gateway.RawRecord{Data: b, Received: time.Date(2026, 5, 4, 20, 0, 0, 0, loc), Truncated: truncated})
		switch {
		case errors.Is(err, pbx.ErrSkip):
		case err != nil:
			t.Fatalf("%q: %v", b, err)
		default:
			calls = append(calls, c)
		}
	}
	fr.Feed(data, emit)
	fr.Flush(emit)
	return calls
}

var fastArgs = []string{"--rate", "0", "--start", "2026-05-04T10:00:00", "--tz", "America/New_York"}

// TestSimPBXStdout: with no transport the records go to stdout, where
// gateway parse reads them; the same seed gives the same records.
func TestSimPBXStdout(t *testing.T) {
	for _, format := range pbxsim.WritableFormats() {
		code, out, errOut := runSimPBX(context.Background(), append([]string{"--format", format, "--count", "40", "--seed", "5"}, fastArgs...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		calls := parseAll(t, format, []byte(out))
		if len(calls) < 25 {
			t.Errorf("%s: %d calls from 40", format, len(calls))
		}
		_, again, _ := runSimPBX(context.Background(), append([]string{"--format", format, "--count", "40", "--seed", "5"}, fastArgs...)...)
		if again != out {
			t.Errorf("%s: the same seed printed other records", format)
		}
	}
	code, out, _ := runSimPBX(context.Background(), append([]string{"--format", "panasonic", "--count", "10", "--cr"}, fastArgs...)...)
	if code != 0 || strings.Contains(out, "\n") || len(parseAll(t, "panasonic", []byte(out))) < 10 {
		t.Errorf("--cr: exit %d, %q", code, out)
	}
}

// TestSimPBXTCP: --tcp connects to the gateway's tcp-listen source and prints
// there, and echoes each record on stdout.
func TestSimPBXTCP(t *testing.T) {
	src, err := pbx.ListenTCP(pbx.ListenOptions{Address: "127.0.0.1:0"}, pbx.SourceOptions{Silence: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out, errOut := runSimPBX(ctx, append([]string{"--format", "avaya-cm", "--tcp", src.Addr().String(), "--count", "20"}, fastArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var got []string
	for len(got) < len(lines) {
		rec, err := src.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d records: %v", len(got), len(lines), err)
		}
		got = append(got, string(rec.Data))
	}
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("echoed:\n%s\nreceived:\n%s", out, strings.Join(got, "\n"))
	}
	if len(lines[0]) != 11 || !strings.HasSuffix(lines[0], " 05/04") || len(lines) < 15 {
		t.Errorf("no date record first, or too few records:\n%s", out)
	}
}

// TestSimPBXListenMitel5000: --listen as a Mitel 5000 SMDR socket with a
// password: the gateway's tcp-dial source logs in and reads framed records
// until the simulator is interrupted.
func TestSimPBXListenMitel5000(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runSimPBX(ctx, "--format", "mitel-5000", "--listen", addr, "--password", "4321", "--rate", "600", "--quiet")
		done <- result{code, out, errOut}
	}()
	loc, _ := time.LoadLocation("Local")
	p, _ := pbx.NewParser("mitel-5000", pbx.Options{Location: loc})
	// The gateway dials until the simulator listens.
	src, err := pbx.DialTCP(pbx.DialOptions{Address: addr, Mitel5000Password: "4321", MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		pbx.SourceOptions{LengthPrefixed: true, Silence: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for calls := 0; calls < 3; calls++ {
		rec, err := src.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(rec); err != nil && !errors.Is(err, pbx.ErrSkip) {
			t.Fatalf("%q: %v", rec.Data, err)
		}
	}
	// A read's frames are counted after its records are handed on: wait
	// for the count to catch up.
	for deadline := time.Now().Add(2 * time.Second); src.Stats().Frames < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := src.Stats(); st.Frames < 3 {
		t.Errorf("%d frames", st.Frames)
	}
	cancel()
	r := <-done
	if r.code != 0 || r.out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.out, r.err)
	}
}

// TestSimPBXSerial: --serial prints on a serial port: here a pseudo-terminal,
// whose other end stands for the gateway's port.
func TestSimPBXSerial(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(master, 1<<20))
		got <- b
	}()
	code, out, errOut := runSimPBX(context.Background(), append([]string{"--format", "panasonic", "--serial", slave.Name(), "--count", "10", "--quiet"}, fastArgs...)...)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, out, errOut)
	}
	slave.Close()
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b []byte
	select {
	case b = <-got:
	case <-time.After(5 * time.Second):
		master.Close()
		b = <-got
	}
	if calls := parseAll(t, "panasonic", b); len(calls) < 10 {
		t.Fatalf("%d calls from the port:\n%s", len(calls), b)
	}
}

// TestSimPBXFile: --file appends, as a PBX writing its CDR file.
func TestSimPBXFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Master.csv")
	for seed := range 2 {
		code, _, errOut := runSimPBX(context.Background(), append([]string{"--format", "asterisk", "--file", path, "--count", "15", "--seed", string(rune('1' + seed)), "--quiet"}, fastArgs...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if calls := parseAll(t, "asterisk", b); len(calls) < 30 {
		t.Fatalf("%d calls in the file", len(calls))
	}
}

func TestSimPBXErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "sim pbx needs --format NAME"},
		{[]string{"--format", "nope"}, 2, `unknown PBX format "nope"`},
		{[]string{"--format", "template"}, 1, "the template format cannot be simulated: its layout is the site's own"},
		{[]string{"--format", "avaya-ipo", "--tcp", "127.0.0.1:1", "--file", "x"}, 2, "give one of --serial, --tcp, --listen and --file"},
		{[]string{"--format", "avaya-ipo", "--rate", "0"}, 2, "--rate 0 prints calls as fast as it can: give --count too"},
		{[]string{"--format", "avaya-ipo", "--rooms", "160-101"}, 2, "--rooms: the range \"160-101\" runs backwards"},
		{[]string{"--format", "avaya-ipo", "--plan", "mars"}, 2, `--plan "mars" is not nanp or uk`},
		{[]string{"--format", "avaya-ipo", "--area", "2x2"}, 1, `the area code "2x2" is not all digits`},
		{[]string{"--format", "avaya-ipo", "--tz", "Moon/Base"}, 2, `--tz "Moon/Base" is not a time zone name`},
		{[]string{"--format", "avaya-ipo", "--password", "x"}, 2, "--password is the Mitel 5000 SMDR socket's"},
		{[]string{"--format", "avaya-ipo", "--rate", "0", "--count", "3", "--start", "yesterday"}, 2, `--start "yesterday" is not a time`},
		{[]string{"--format", "avaya-ipo", "--tcp", "nowhere"}, 2, `--tcp: "nowhere" is not a host:port address`},
		{[]string{"--format", "avaya-ipo", "--serial", "/dev/ttyNOPE9", "--count", "1"}, 1, "serial port /dev/ttyNOPE9"},
		{[]string{"--format", "avaya-ipo", "extra"}, 2, "sim pbx takes no arguments"},
		{[]string{"--format", "avaya-ipo", "--cr"}, 2, "--cr is for --format panasonic"},
		{[]string{"--format", "avaya-ipo", "--noise", "1.5"}, 1, "the share of calls with line noise must be between 0 and 1"},
	} {
		code, _, errOut := runSimPBX(context.Background(), c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// TestSimulatedCallsRate: the demo's calls rate with the example tariffs
// they are meant for: no outgoing call of the NANP plan is an exception with
// usa.yaml, none of the UK plan with uk.yaml, and some are charged.
func TestSimulatedCallsRate(t *testing.T) {
	for _, c := range []struct {
		tariff string
		plan   pbxsim.DialPlan
		zone   string
	}{{"usa.yaml", pbxsim.NANP(), "America/New_York"}, {"uk.yaml", pbxsim.UK(), "Europe/London"}} {
		tf, err := tariff.Load(filepath.Join("..", "..", "configs", "tariffs", c.tariff))
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(c.zone)
		g, err := pbxsim.NewGenerator(pbxsim.GeneratorOptions{Hotel: pbxsim.DefaultHotel(), Plan: c.plan, Seed: 2, Start: time.Date(2026, 10, 5, 8, 0, 0, 0, loc)})
		if err != nil {
			t.Fatal(err)
		}
		classes := map[string]int{}
		for range 3000 {
			sc := g.Next()
			call := gateway.Call{Direction: sc.Direction, Dialed: sc.Dialed, Start: pbx.WallClock(sc.Start.In(loc)),
				DurationS: sc.TalkS, Answered: gateway.Bool(sc.Answered)}
			ch, err := tf.Rate(call)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Exception != nil {
				t.Fatalf("%s: %s rates as exception %s", c.tariff, sc.Dialed, *ch.Exception)
			}
			classes[ch.Class]++
			if ch.Postable() {
				classes["posted"]++
			}
		}
		if classes["posted"] < 500 || classes["international"] == 0 || classes["local"] == 0 || classes["national"] == 0 {
			t.Errorf("%s: classes %v", c.tariff, classes)
		}
		t.Logf("%s: %v", c.tariff, classes)
	}
}
