// Package mailtest is an in-process SMTP server for tests: it wants PLAIN
// authentication after STARTTLS (or, as a relay, neither) and keeps what it
// is sent.
package mailtest

import (
	"bytes"
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
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The login the server accepts.
const (
	User     = "callgate"
	Password = "s3cret"
)

// Server is a running test mail server.
type Server struct {
	Host  string
	Port  int
	Roots *x509.CertPool // trusts the server's certificate (for 127.0.0.1)

	mu       sync.Mutex
	failData int
	got      []Mail
	arrived  chan struct{} // a signal after each message taken
}

// Mail is one message the server took.
type Mail struct {
	From string
	To   []string
	Data []byte
}

type session struct {
	srv  *Server
	auth bool
	m    Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != User || pass != Password {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.m.From = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.To = append(s.m.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
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
	s.m.Data = b
	s.srv.got = append(s.srv.got, s.m)
	select {
	case s.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}
func (s *session) Reset()        { s.m = Mail{} }
func (s *session) Logout() error { return nil }

// Start runs a server until the test ends; it refuses the first failData
// messages with a temporary error. A relay wants no authentication (TLS is
// offered, not required).
func Start(t testing.TB, failData int, relay bool) *Server {
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
	srv := &Server{failData: failData, Roots: x509.NewCertPool(), arrived: make(chan struct{}, 1)}
	srv.Roots.AddCert(cert)
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: srv, auth: relay}, nil }))
	s.Domain = "mail.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	srv.Host = host
	srv.Port, _ = strconv.Atoi(port)
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return srv
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.Roots, ServerName: s.Host}
}

// Wait returns the messages taken once there are at least n, or what there
// is after timeout.
func (s *Server) Wait(n int, timeout time.Duration) []Mail {
	deadline := time.After(timeout)
	for {
		if got := s.Sent(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Sent()
		}
	}
}

// Read reads a message taken: its header, its text and its attachments by
// file name (decoded).
func (m Mail) Read(t testing.TB) (netmail.Header, string, map[string][]byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text string
	files := map[string][]byte{}
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
		if p.FileName() != "" {
			files[p.FileName()] = b
		} else {
			text += string(b)
		}
	}
	return msg.Header, text, files
}

// Sent returns the messages taken so far.
func (s *Server) Sent() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}
