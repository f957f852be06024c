package main

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway/mail/mailtest"
	"callgate/pms/fias/sim"
)

// TestServeRunsScheduledReports: serve with a reports: section starts the
// scheduler with the journal, the report goes out through the in-process
// SMTP server, and the dashboard shows its state. The scheduler's clock
// starts two minutes behind, so that its first run is already due.
func TestServeRunsScheduledReports(t *testing.T) {
	dir := t.TempDir()
	pmsSim, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: []string{"101"}, AnswerWindow: time.Second,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	defer pmsSim.Close()
	srv := mailtest.Start(t, 0, false)
	cfg := fmt.Sprintf(`site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: smdr.txt}
pms: {protocol: fias, address: %q}
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
smtp: {host: %q, port: %d, tls: starttls, username: callgate, password: s3cret, from: callgate@hotel.test}
report: {trunk_groups: [{name: pstn, trunks: ["9001-9008"], size: 8}]}
reports:
  - {report: busy-hour, period: yesterday, format: csv, schedule: "* * * * *", to: [it@hotel.test]}
`, pmsSim.Addr(), srv.Host, srv.Port)
	g := startTestGateway(t, dir, cfg)
	if g.reports == nil {
		t.Fatal("serve made no scheduler for the config's reports")
	}
	g.mail.TLSConfig = srv.TLSConfig()
	var first atomic.Bool
	g.reports.Now = func() time.Time {
		if first.CompareAndSwap(false, true) {
			return time.Now().Add(-2 * time.Minute)
		}
		return time.Now()
	}
	g.run(t)

	sent := srv.Wait(1, 15*time.Second)
	if len(sent) == 0 {
		t.Fatalf("no report mailed; status %+v", g.reports.Status())
	}
	m := sent[0]
	if strings.Join(m.To, " ") != "it@hotel.test" || !strings.Contains(string(m.Data), "Harbour Hotel: Busy hour") || !strings.Contains(string(m.Data), ".csv") {
		t.Errorf("mail to %v:\n%s", m.To, m.Data)
	}

	jar, _ := cookiejar.New(nil)
	cl := &client{t: t, base: "http://" + g.ln.Addr().String(), hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code := cl.login("night", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	_, body, _ := cl.get("/")
	if !strings.Contains(body, `id="deliveries"`) || !strings.Contains(body, "<td>it@hotel.test</td>") {
		t.Errorf("the dashboard lacks the scheduled report\n%s", body)
	}
	// The console's reports take the config's options: its trunk group.
	if code, body, _ := cl.get("/reports?report=sizing&from=2026-11-01&to=2026-11-02"); code != http.StatusOK || !strings.Contains(body, "Trunks needed") || !strings.Contains(body, "<td>pstn</td>") {
		t.Errorf("/reports sizing: %d\n%s", code, body)
	}
	// Stopped, the gateway has finished the sending it started: its status
	// shows the success.
	g.stop(t)
	if st := g.reports.Status()[0]; st.LastOK.IsZero() || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}
