package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/mail/mailtest"
	"callgate/store"
)

// TestAlarmsTestCommand: `gateway alarms test` sends one test alarm to a
// signed webhook and an e-mail target, and says which target failed (exit
// 1) when one does.
func TestAlarmsTestCommand(t *testing.T) {
	dir := t.TempDir()
	key := "0123456789abcdef"
	os.WriteFile(filepath.Join(dir, "hook.key"), []byte(key+"\n"), 0o600)
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(key))
		m.Write(b)
		if r.Header.Get("X-Callgate-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	ms := mailtest.Start(t, 0, true)
	cfg := filepath.Join(dir, "callgate.yaml")
	write := func(extra string) {
		body := `site: {name: Grand Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: /dev/null}
tariff: ` + mustAbs(t, "../../configs/tariffs/usa.yaml") + `
smtp: {host: 127.0.0.1, port: ` + strconv.Itoa(ms.Port) + `, tls: none, from: callgate@hotel.test}
alarms:
  notify:
    - {webhook: "` + srv.URL + `/callgate", secret_file: hook.key}
    - {email: [night@hotel.test]}
` + extra
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	code, out, errOut := run(t, "", "alarms", "test", "--config", cfg)
	if code != 0 || !strings.Contains(out, "sent: webhook "+srv.URL+"/callgate") || !strings.Contains(out, "sent: e-mail to night@hotel.test") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var m map[string]any
	if len(bodies) != 1 || json.Unmarshal([]byte(bodies[0]), &m) != nil || m["alarm"] != "test" || m["site"] != "Grand Hotel" || m["state"] != "raised" {
		t.Errorf("webhook got %q", bodies)
	}
	if got := ms.Wait(1, 5*time.Second); len(got) != 1 {
		t.Errorf("%d mails", len(got))
	}
	write(`    - {webhook: "http://127.0.0.1:1/closed", secret_file: hook.key}` + "\n")
	code, out, errOut = run(t, "", "alarms", "test", "--config", cfg)
	if code != 1 || !strings.Contains(out, "failed: webhook http://127.0.0.1:1/closed") || !strings.Contains(errOut, "1 of 3 alarm targets failed") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "alarms", "--config", cfg); code != 2 || !strings.Contains(errOut, "alarms test") {
		t.Errorf("no test: exit %d %s", code, errOut)
	}
}

// TestAlarmsConfigProblems: the alarm keys are checked, each problem with
// its key.
func TestAlarmsConfigProblems(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.key"), []byte("\n"), 0o600)
	body := `site: {name: Grand Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: /dev/null}
tariff: ` + mustAbs(t, "../../configs/tariffs/usa.yaml") + `
alarms:
  remind_minutes: -1
  notify:
    - {webhook: "ftp://x"}
    - {webhook: "https://ops.example/hook", secret_file: empty.key}
    - {email: [not-an-address]}
    - {}
  fraud: {international_per_hour: -1, night: "25:00-06:00", destinations: ["+44x"], cost_per_hour: -5, long_call_minutes: -1}
rooms:
  credit: {default: -1, rooms: {"101": -2}, vip: {"GOLD": -3}}
`
	cfg := filepath.Join(dir, "callgate.yaml")
	os.WriteFile(cfg, []byte(body), 0o644)
	code, out, _ := run(t, "", "check", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"alarms.remind_minutes", `alarms.notify[0].webhook: line 8: "ftp://x" is not an http:// or https:// address`,
		"alarms.notify[0].secret_file: line 8: missing", "alarms.notify[1].secret_file: line 9:", "is empty",
		`alarms.notify[2].email[0]`, "alarms.notify[3]: line 11: give email", "alarms.notify: line 7: a target sends e-mail",
		"alarms.fraud.international_per_hour", "alarms.fraud.night", "not a time of day", `alarms.fraud.destinations[0]`,
		"alarms.fraud.cost_per_hour", "alarms.fraud.long_call_minutes",
		"rooms.credit.default", "rooms.credit.rooms.101", "rooms.credit.vip.GOLD",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
}

// TestReportFraudCommand: `gateway report fraud` over a journal holding a
// generated month with planted fraud lists each planted case, and the
// exceptions report gives their calls a fraud reason.
func TestReportFraudCommand(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	calls, planted := gatewaytest.GenerateMonth(11, start, true)
	j, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]gateway.ImportRecord, len(calls))
	for i := range calls {
		c := &calls[i]
		c.Call.Raw = []byte(fmt.Sprintf("call %d %s %s", i, c.Call.Extension, c.Call.Start.Format(time.RFC3339)))
		recs[i] = gateway.ImportRecord{Raw: gateway.RawRecord{Data: c.Call.Raw, Received: c.Call.StartUTC, Source: "test"}, Call: &c.Call, Charge: &c.Charge, Room: c.Room}
	}
	if _, err := j.Import(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	j.Close()
	cfg := filepath.Join(dir, "callgate.yaml")
	os.WriteFile(cfg, []byte(`site: {name: Grand Hotel, timezone: Etc/GMT+5}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: /dev/null}
tariff: `+mustAbs(t, "../../configs/tariffs/usa.yaml")+`
rooms: {default: same, not_rooms: ["200-299"]}
alarms:
  fraud: {international_per_hour: 3, cost_per_hour: 10000, night: "00:00-06:00", premium_classes: [premium], long_call_minutes: 120, destinations: ["+882", "881"]}
`), 0o644)
	code, out, errOut := run(t, "", "report", "fraud", "--config", cfg, "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rows []struct {
		Extension, Rule, Alarm string
		Calls                  int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, r := range rows {
		got[r.Extension+" "+r.Rule] = true
	}
	for _, p := range planted {
		if !got[p.Extension+" "+p.Rule] {
			t.Errorf("report fraud misses %s %s:\n%s", p.Extension, p.Rule, out)
		}
	}
	if len(rows) != len(planted) {
		t.Errorf("%d rows, want %d:\n%s", len(rows), len(planted), out)
	}
	code, out, errOut = run(t, "", "report", "exceptions", "--config", cfg, "--from", "2026-11-04", "--format", "csv")
	if code != 0 || !strings.Contains(out, "fraud: international_per_hour") {
		t.Errorf("exceptions: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestServeDeliversFraudAlarm: serve wires the engine's alarms to the
// notify targets: two international calls from one extension through the
// file PBX, with international_per_hour 1, reach a webhook receiver as one
// fraud alarm naming the extension, and the dashboard's status lists it.
func TestServeDeliversFraudAlarm(t *testing.T) {
	dir := t.TempDir()
	got := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer srv.Close()
	os.WriteFile(filepath.Join(dir, "hook.key"), []byte("k\n"), 0o600)
	g := startTestGateway(t, dir, `site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: smdr.txt}
pms: {protocol: fias, address: "127.0.0.1:1"}
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
rooms: {default: same, not_rooms: ["200-299"]}
alarms:
  notify: [{webhook: "`+srv.URL+`", secret_file: hook.key}]
  fraud: {international_per_hour: 1}
`)
	g.run(t)
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Now().In(ny)
	f, err := os.OpenFile(filepath.Join(dir, "smdr.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		at := now.Add(time.Duration(i-2) * time.Minute).Format("2006/01/02 15:04:05")
		fmt.Fprintf(f, "%s,00:01:35,4,201,O,901144207946000%d,901144207946000%d,,0,100421%d,0,E201,Office,T9005,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,\r\n", at, i, i, i)
	}
	f.Close()
	select {
	case m := <-got:
		if m["alarm"] != "fraud" || m["extension"] != "201" || m["rule"] != "international_per_hour" || m["site"] != "Harbour Hotel" {
			t.Errorf("message %v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no alarm reached the webhook in 20 s")
	}
	found := false
	for _, a := range g.engine.Status().Alarms {
		found = found || a.Kind == gateway.AlarmFraud && a.Subject == "201/international_per_hour"
	}
	if !found {
		t.Errorf("alarms %+v", g.engine.Status().Alarms)
	}
}

// TestAlarmsWebhookWarning: gateway check warns (exit 0) of a webhook over
// plain HTTP to the network, not of one on this machine or over HTTPS.
func TestAlarmsWebhookWarning(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hook.key"), []byte("k\n"), 0o600)
	cfg := filepath.Join(dir, "callgate.yaml")
	os.WriteFile(cfg, []byte(`site: {name: Grand Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: /dev/null}
pms: {protocol: fias, address: "127.0.0.1:5010"}
tariff: `+mustAbs(t, "../../configs/tariffs/usa.yaml")+`
alarms:
  notify:
    - {webhook: "http://ops.hotel.example/hook?token=x", secret_file: hook.key}
    - {webhook: "http://127.0.0.1:9000/hook", secret_file: hook.key}
    - {webhook: "https://ops.hotel.example/hook", secret_file: hook.key}
`), 0o644)
	code, out, errOut := run(t, "", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "warning: alarms.notify[0].webhook: line 8: webhook http://ops.hotel.example/hook sends alarms") ||
		strings.Contains(out, "token=x") || !strings.Contains(out, "config OK, with 1 warning") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
