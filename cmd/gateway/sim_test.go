package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pms/fias"
)

// TestSimPMS runs gateway sim pms and posts to it with the FIAS link: the
// transcript and the postings come out on stdout; stdin commands change
// guests; the command ends cleanly when interrupted.
func TestSimPMS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	var errb strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sim", "pms", "--listen", "127.0.0.1:0", "--rooms", "101-105", "--vacant", "104-105", "--transcript"},
			inR, outW, &errb)
		outW.Close()
	}()
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q; stderr %s", want, errb.String())
				}
				if strings.Contains(l, want) {
					return l
				}
			case <-deadline:
				t.Fatalf("no line with %q", want)
			}
		}
	}
	first := waitLine("PMS simulator listening on ")
	addr := strings.Fields(strings.TrimPrefix(first, "PMS simulator listening on "))[0]
	addr = strings.TrimSuffix(addr, ",")
	l, err := fias.Open(fias.Options{Address: addr, AmountExponent: 2, ListenWait: 100 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := l.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	p := gateway.PostRequest{Number: 1, Room: "101", AmountMinor: 250, Start: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), DurationS: 60, Dialed: "0044207", Destination: "London"}
	if r, err := l.Post(wctx, p); r.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", r, err)
	}
	waitLine("PS|RN101|PTC|TA250|")
	waitLine("posting 1 room 101: booked")
	p.Number, p.Room = 2, "104"
	if r, _ := l.Post(wctx, p); r.Outcome != gateway.PostRefused || r.Answer != "NG" {
		t.Fatalf("vacant room: %+v", r)
	}
	waitLine("posting 2 room 104: refused NG")
	io.WriteString(inW, "ci 104 Okafor Ada\nledger\nbogus\n")
	waitLine("GI|RN104|")
	waitLine("checked in reservation")
	waitLine("P#1 room 101")
	waitLine("bogus: unknown command")
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim pms did not stop")
	}
	inW.Close()
}

func TestSimUsage(t *testing.T) {
	code, _, errOut := run(t, "", "sim")
	if code != 2 || !strings.Contains(errOut, "pms") {
		t.Errorf("sim alone: exit %d %q", code, errOut)
	}
	code, _, errOut = run(t, "", "sim", "pbq")
	if code != 2 || !strings.Contains(errOut, `unknown simulator "pbq"`) {
		t.Errorf("unknown: exit %d %q", code, errOut)
	}
	code, out, _ := run(t, "", "sim", "pms", "--help")
	if code != 0 || !strings.Contains(out, "-vacant") || !strings.Contains(out, "-protel") {
		t.Errorf("help: exit %d %q", code, out)
	}
	code, _, errOut = run(t, "", "sim", "pms", "--rooms", "9-1")
	if code != 2 || !strings.Contains(errOut, "--rooms") {
		t.Errorf("bad rooms: exit %d %q", code, errOut)
	}
}

// TestPMSConfigKeys: the FIAS keys, their defaults and their problems as
// gateway check reports them.
func TestPMSConfigKeys(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.PMS.AnswerTimeoutS != 30 || c.PMS.AliveIntervalS != 300 || c.PMS.VendorVersion != "callgate" || c.PMS.Transcript != "" {
		t.Errorf("defaults %+v", c.PMS)
	}
	o := c.PMS.FIASOptions()
	if o.Address != "10.0.0.20:5010" || o.AnswerTimeout != 30*time.Second || o.AliveInterval != 5*time.Minute || o.AmountExponent != 2 || o.CodePage != "windows-1252" {
		t.Errorf("options %+v", o)
	}
	body := strings.Replace(goodConfig, `address: "10.0.0.20:5010"`, `address: "10.0.0.20:5010"
  vendor_version: "callgate version 2"
  answer_timeout_s: 5
  alive_interval_s: 60
  transcript: /var/log/callgate/fias.log
  posting: {sales_outlet: "12", call_types: {local: LL}}`, 1)
	_, err = LoadConfig(writeConfig(t, body))
	if err == nil {
		t.Fatal("no problems")
	}
	text := err.Error()
	for _, w := range []string{
		`pms.vendor_version: line 10: "callgate version 2" is not up to 10 letters`,
		`pms.answer_timeout_s: line 11: 5s is shorter than the 30 s`,
		`pms.alive_interval_s: line 12: 1m0s is shorter than the 5 minutes`,
		`pms.posting.call_types.local: line 14: "LL" is not one letter or digit`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("problems lack %q:\n%s", w, text)
		}
	}
	if strings.Count(text, "\n") != 3 {
		t.Errorf("want 4 problems:\n%s", text)
	}
	serialBody := strings.Replace(goodConfig, `address: "10.0.0.20:5010"`, `serial: {device: /dev/ttyS1, data_bits: 6, parity: mark}`, 1)
	_, err = LoadConfig(writeConfig(t, serialBody))
	if err == nil || !strings.Contains(err.Error(), "pms.serial.data_bits: line 9: 6: FIAS uses 8 data bits") ||
		!strings.Contains(err.Error(), `pms.serial.parity: line 9: "mark": FIAS uses none, odd or even`) {
		t.Errorf("serial problems:\n%v", err)
	}
}

// TestPMSRetryKeys: pms.retry sets the engine's waits after RY and NA, and
// its problems name the key, the line and the fix.
func TestPMSRetryKeys(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if ryMin, ryMax, naPoll := c.PMS.Retry.Waits(); ryMin != 2*time.Second || ryMax != time.Minute || naPoll != time.Minute {
		t.Errorf("defaults %v %v %v", ryMin, ryMax, naPoll)
	}
	body := strings.Replace(goodConfig, `address: "10.0.0.20:5010"`, `address: "10.0.0.20:5010"
  retry: {ry_min_s: 1, ry_max_s: 30, na_poll_s: 120}`, 1)
	c, err = LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if ryMin, ryMax, naPoll := c.PMS.Retry.Waits(); ryMin != time.Second || ryMax != 30*time.Second || naPoll != 2*time.Minute {
		t.Errorf("set %v %v %v", ryMin, ryMax, naPoll)
	}
	body = strings.Replace(goodConfig, `address: "10.0.0.20:5010"`, `address: "10.0.0.20:5010"
  retry:
    ry_min_s: 20
    ry_max_s: 10
    na_poll_s: 0`, 1)
	_, err = LoadConfig(writeConfig(t, body))
	if err == nil {
		t.Fatal("no problems")
	}
	for _, w := range []string{
		`pms.retry.ry_max_s: line 12: 10 is less than pms.retry.ry_min_s (20)`,
		`pms.retry.na_poll_s: line 13: 0 is not from 1 to 3600`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%v", w, err)
		}
	}
}
