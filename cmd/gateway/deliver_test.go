package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"callgate/store"
)

// smtpServer is an in-process mail server that wants PLAIN authentication
// after STARTTLS and keeps what it is sent; the first failData messages are
// refused.
type smtpServer struct {
	mu       sync.Mutex
	failData int
	got      []sentMail
	addr     string
	roots    *x509.CertPool
}

type sentMail struct {
	from string
	to   []string
	data []byte
}

type smtpSession struct {
	srv  *smtpServer
	auth bool
	m    sentMail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "callgate" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.m.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.to = append(s.m.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.failData > 0 {
		s.srv.failData--
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	s.m.data = b
	s.srv.got = append(s.srv.got, s.m)
	return nil
}
func (s *smtpSession) Reset()        { s.m = sentMail{} }
func (s *smtpSession) Logout() error { return nil }

// With open set, it is a relay that wants no authentication and no TLS.
func startSMTP(t *testing.T, failData int, insecure ...bool) *smtpServer {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	srv := &smtpServer{failData: failData, roots: x509.NewCertPool()}
	srv.roots.AddCert(cert)
	open := len(insecure) > 0 && insecure[0]
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: srv, auth: open}, nil }))
	s.Domain = "mail.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) sent() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMail(nil), s.got...)
}

// scheduler returns a scheduler of one busy-hour report over an imported
// journal, sending through srv.
func testScheduler(t *testing.T, srv *smtpServer) *Scheduler {
	cfgPath, _ := importedJournal(t)
	c, err := loadConfigFor(cfgPath, "the test", "site", "store", "rooms", "report")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.addr)
	c.SMTP = SMTPConfig{Host: host, TLS: "starttls", Username: "callgate", Password: "s3cret", From: "callgate@hotel.test"}
	c.SMTP.Port, _ = strconv.Atoi(port)
	c.Reports = []ScheduleConfig{{Report: "busy-hour", Period: "yesterday", Format: "xlsx", Schedule: "0 6 * * *", To: []string{"it@hotel.test", "gm@hotel.test"}}}
	j, err := store.Open(filepath.Join(filepath.Dir(cfgPath), "journal.db"), store.Options{ReadOnly: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	s, err := NewScheduler(c, j, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.mail.tls = &tls.Config{RootCAs: srv.roots, ServerName: "127.0.0.1"}
	s.Retry = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	return s
}

// TestScheduledReportMailed: the report is sent over STARTTLS with
// authentication, after one refusal retried, with the spreadsheet attached.
func TestScheduledReportMailed(t *testing.T) {
	srv := startSMTP(t, 1)
	s := testScheduler(t, srv)
	at := time.Date(2026, 5, 2, 6, 0, 0, 0, s.cfg.Location)
	if err := s.deliver(context.Background(), 0, at); err != nil {
		t.Fatal(err)
	}
	st := s.Status()[0]
	if st.LastOK.IsZero() || st.LastError != "" || st.Failures != 0 {
		t.Errorf("status %+v", st)
	}
	got := srv.sent()
	if len(got) != 1 || got[0].from != "callgate@hotel.test" || strings.Join(got[0].to, " ") != "it@hotel.test gm@hotel.test" {
		t.Fatalf("sent %+v", got)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if subj := m.Header.Get("Subject"); subj != "Grand Hotel: Busy hour: trunk traffic per clock hour, 2026-05-01 to 2026-05-01" {
		t.Errorf("subject %q", subj)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var xlsx []byte
	var text string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b, _ = base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", ""), "\n", ""))
		}
		if p.FileName() == "busy-hour_2026-05-01_2026-05-01.xlsx" {
			xlsx = b
		} else {
			text += string(b)
		}
	}
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
	srv := startSMTP(t, 0)
	s := testScheduler(t, srv)
	s.cfg.Report.Carriers = []string{mustAbs(t, "../../configs/tariffs/usa.yaml")}
	s.cfg.Reports[0].Report, s.cfg.Reports[0].Format = "carriers", "csv"
	at := time.Date(2026, 5, 2, 6, 0, 0, 0, s.cfg.Location)
	if err := s.deliver(context.Background(), 0, at); err != nil {
		t.Fatal(err)
	}
	got := srv.sent()
	if len(got) != 1 || !bytes.Contains(got[0].data, []byte(`filename="carriers_2026-05-01_2026-05-01.csv"`)) {
		t.Fatalf("sent %d messages: %.2000s", len(got), got)
	}
	s.cfg.Report.Carriers = []string{"/nonexistent/carrier-b.yaml"}
	s.Retry = nil
	if err := s.deliver(context.Background(), 0, at); err == nil || !strings.Contains(err.Error(), "carrier-b.yaml") ||
		!strings.Contains(s.Status()[0].LastError, "carrier-b.yaml") {
		t.Errorf("a missing tariff file: %v, status %+v", err, s.Status()[0])
	}
}

func TestScheduledReportFails(t *testing.T) {
	srv := startSMTP(t, 100)
	s := testScheduler(t, srv)
	err := s.deliver(context.Background(), 0, time.Date(2026, 5, 2, 6, 0, 0, 0, s.cfg.Location))
	st := s.Status()[0]
	if err == nil || st.Failures != 3 || !strings.Contains(st.LastError, "try again later") || !st.LastOK.IsZero() {
		t.Errorf("err %v, status %+v", err, st)
	}
	if len(srv.sent()) != 0 {
		t.Error("a refused message counted as sent")
	}
}

func TestPeriodDates(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) // a Friday
	for _, c := range []struct{ p, from, to string }{
		{"yesterday", "2026-11-26", "2026-11-26"},
		{"last-week", "2026-11-16", "2026-11-22"},
		{"last-month", "2026-10-01", "2026-10-31"},
	} {
		f, to := periodDates(c.p, now)
		if f.Format(time.DateOnly) != c.from || to.Format(time.DateOnly) != c.to {
			t.Errorf("%s: %v %v", c.p, f, to)
		}
	}
	// On a Monday, last week ended yesterday.
	if f, _ := periodDates("last-week", time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)); f.Format(time.DateOnly) != "2026-11-23" {
		t.Errorf("Monday: %v", f)
	}
	if f, to := periodDates("last-month", time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)); f.Format(time.DateOnly) != "2025-12-01" || to.Format(time.DateOnly) != "2025-12-31" {
		t.Errorf("January: %v %v", f, to)
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
	srv := startSMTP(t, 0, true)
	cfgPath, _ := importedJournal(t)
	host, port, _ := net.SplitHostPort(srv.addr)
	appendFile(t, cfgPath, "smtp: {host: "+host+", port: "+port+", tls: none, from: callgate@hotel.test}\n")
	code, out, errOut := run(t, "", "report", "rooms", "--config", cfgPath, "--from", "2026-05-01", "--mail", "gm@hotel.test, it@hotel.test", "--format", "csv")
	if code != 0 || !strings.Contains(out, "sent rooms") {
		t.Fatalf("exit %d %s %s", code, out, errOut)
	}
	got := srv.sent()
	if len(got) != 1 || len(got[0].to) != 2 || !strings.Contains(string(got[0].data), `filename="rooms_2026-05-01_2026-05-01.csv"`) {
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
