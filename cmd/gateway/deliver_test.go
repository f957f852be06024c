package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"callgate/gateway/mail/mailtest"
	"callgate/gateway/report"
	"callgate/store"
)

// testScheduler returns the config and the scheduler of one busy-hour
// report over an imported journal, sending through srv; edit, if any, changes
// the config first.
func testScheduler(t *testing.T, srv *mailtest.Server, edit ...func(*Config)) (*Config, *report.Scheduler) {
	cfgPath, _ := importedJournal(t)
	c, err := loadConfigFor(cfgPath, "the test", "site", "store", "rooms", "report")
	if err != nil {
		t.Fatal(err)
	}
	c.SMTP = SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: "starttls", Username: mailtest.User, Password: mailtest.Password, From: "callgate@hotel.test"}
	c.Reports = []ScheduleConfig{{Report: "busy-hour", Period: "yesterday", Format: "xlsx", Schedule: "0 6 * * *", To: []string{"it@hotel.test", "gm@hotel.test"}}}
	for _, e := range edit {
		e(c)
	}
	j, err := store.Open(filepath.Join(filepath.Dir(cfgPath), "journal.db"), store.Options{ReadOnly: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	server := c.mailServer()
	server.TLSConfig = srv.TLSConfig()
	s, err := newScheduler(c, j, server, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Retry = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	return c, s
}

// TestScheduledReportMailed: the report is sent over STARTTLS with
// authentication, after one refusal retried, with the spreadsheet attached.
func TestScheduledReportMailed(t *testing.T) {
	srv := mailtest.Start(t, 1, false)
	c, s := testScheduler(t, srv)
	at := time.Date(2026, 5, 2, 6, 0, 0, 0, c.Location)
	if err := s.Deliver(context.Background(), 0, at); err != nil {
		t.Fatal(err)
	}
	st := s.Status()[0]
	if st.LastOK.IsZero() || st.LastError != "" || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
	got := srv.Sent()
	if len(got) != 1 || got[0].From != "callgate@hotel.test" || strings.Join(got[0].To, " ") != "it@hotel.test gm@hotel.test" {
		t.Fatalf("sent %+v", got)
	}
	header, text, files := got[0].Read(t)
	if subj := header.Get("Subject"); subj != "Grand Hotel: Busy hour: trunk traffic per clock hour, 2026-05-01 to 2026-05-01" {
		t.Errorf("subject %q", subj)
	}
	xlsx := files["busy-hour_2026-05-01_2026-05-01.xlsx"]
	if !strings.Contains(text, "Busiest hour of the period: 2026-05-01T08:00") {
		t.Errorf("body: %q", text)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatalf("attachment (%d bytes): %v", len(xlsx), err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("busy-hour", "A10"); v != "2026-05-01 08:00" {
		t.Errorf("A10 = %q, want the 08:00 row", v)
	}
}

// TestScheduledCarriers: the carriers report goes out on a schedule with
// the config's alternative tariffs, read at each sending.
func TestScheduledCarriers(t *testing.T) {
	srv := mailtest.Start(t, 0, false)
	c, s := testScheduler(t, srv, func(c *Config) {
		c.Report.Carriers = []string{mustAbs(t, "../../configs/tariffs/usa.yaml")}
		c.Reports[0].Report, c.Reports[0].Format = "carriers", "csv"
	})
	at := time.Date(2026, 5, 2, 6, 0, 0, 0, c.Location)
	if err := s.Deliver(context.Background(), 0, at); err != nil {
		t.Fatal(err)
	}
	got := srv.Sent()
	if len(got) != 1 || !bytes.Contains(got[0].Data, []byte(`filename="carriers_2026-05-01_2026-05-01.csv"`)) {
		t.Fatalf("sent %d messages: %.2000s", len(got), got)
	}
	c.Report.Carriers = []string{"/nonexistent/carrier-b.yaml"}
	s.Retry = nil
	if err := s.Deliver(context.Background(), 0, at); err == nil || !strings.Contains(err.Error(), "carrier-b.yaml") ||
		!strings.Contains(s.Status()[0].LastError, "carrier-b.yaml") {
		t.Errorf("a missing tariff file: %v, status %+v", err, s.Status()[0])
	}
}

func TestScheduledReportFails(t *testing.T) {
	srv := mailtest.Start(t, 100, false)
	c, s := testScheduler(t, srv)
	err := s.Deliver(context.Background(), 0, time.Date(2026, 5, 2, 6, 0, 0, 0, c.Location))
	st := s.Status()[0]
	if err == nil || st.Failures != 3 || !strings.Contains(st.LastError, "try again later") || !st.LastOK.IsZero() {
		t.Errorf("err %v, status %+v", err, st)
	}
	if len(srv.Sent()) != 0 {
		t.Error("a refused message counted as sent")
	}
}

func TestDeliveryConfig(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, goodConfig+`reports:
  - {report: busy-hour, period: last-week, format: xlsx, schedule: "0 6 * * 1", to: [it@hotel.test]}
smtp: {host: mail.hotel.test, from: callgate@hotel.test}
`))
	if err != nil {
		t.Fatal(err)
	}
	// carriers is scheduled with the tariffs of report.carriers, each loaded.
	if _, err := LoadConfig(writeConfig(t, goodConfig+`report: {carriers: [`+mustAbs(t, "../../configs/tariffs/usa.yaml")+`]}
reports:
  - {report: carriers, period: last-month, format: csv, schedule: "0 6 1 * *", to: [it@hotel.test]}
smtp: {host: mail.hotel.test, from: callgate@hotel.test}
`)); err != nil {
		t.Error(err)
	}
	if ps := problemsOf(t, func() error {
		_, err := LoadConfig(writeConfig(t, goodConfig+"report: {carriers: [missing.yaml, \"\"]}\n"))
		return err
	}()); len(ps) != 2 || ps[0].Key != "report.carriers[0]" || !strings.Contains(ps[0].Msg, "missing.yaml") || ps[1].Key != "report.carriers[1]" {
		t.Errorf("bad report.carriers: %v", ps)
	}
	_, err = LoadConfig(writeConfig(t, goodConfig+`reports:
  - {report: nonsense, period: fortnight, format: pdf, schedule: "6 am", to: [not-an-address]}
  - {report: carriers, period: yesterday, schedule: "0 6 * * *"}
smtp: {port: 0, tls: maybe, username: x}
`))
	if ps := problemsOf(t, func() error {
		_, err := LoadConfig(writeConfig(t, goodConfig+"smtp: {host: m.test, from: a@b.test, tls: none, username: u, password: p}\n"))
		return err
	}()); len(ps) != 1 || ps[0].Key != "smtp.username" {
		t.Errorf("login without TLS: %v", ps)
	}
	keys := map[string]bool{}
	for _, p := range problemsOf(t, err) {
		keys[p.Key] = true
	}
	for _, k := range []string{"reports[0].report", "reports[0].period", "reports[0].format", "reports[0].schedule", "reports[0].to[0]",
		"reports[1].report", "reports[1].to", "smtp.host", "smtp.port", "smtp.tls", "smtp.from", "smtp.password"} {
		if !keys[k] {
			t.Errorf("no problem for %s (got %v)", k, keys)
		}
	}
}

// TestReportMail: gateway report --mail sends the report once through the
// config's server (here a hotel's internal relay: no TLS, no login).
func TestReportMail(t *testing.T) {
	srv := mailtest.Start(t, 0, true)
	cfgPath, _ := importedJournal(t)
	appendFile(t, cfgPath, fmt.Sprintf("smtp: {host: %s, port: %d, tls: none, from: callgate@hotel.test}\n", srv.Host, srv.Port))
	code, out, errOut := run(t, "", "report", "rooms", "--config", cfgPath, "--from", "2026-05-01", "--mail", "gm@hotel.test, it@hotel.test", "--format", "csv")
	if code != 0 || !strings.Contains(out, "sent rooms") {
		t.Fatalf("exit %d %s %s", code, out, errOut)
	}
	got := srv.Sent()
	if len(got) != 1 || len(got[0].To) != 2 || !strings.Contains(string(got[0].Data), `filename="rooms_2026-05-01_2026-05-01.csv"`) {
		t.Fatalf("sent %d messages: %+v", len(got), got)
	}
	noSMTP, _ := importedJournal(t)
	if code, _, errOut := run(t, "", "report", "rooms", "--config", noSMTP, "--from", "2026-05-01", "--mail", "gm@hotel.test"); code != 1 || !strings.Contains(errOut, "smtp") {
		t.Errorf("no smtp section: exit %d %q", code, errOut)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
