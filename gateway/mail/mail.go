// Package mail sends e-mail through an SMTP server: an adapter that is given
// bytes, names and addresses (it knows no report).
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Server is the mail server to send through.
type Server struct {
	Host     string
	Port     int
	TLS      string // starttls (required; the default), tls (implicit, port 465), none
	Username string // "" sends without authentication
	Password string
	// TLSConfig replaces the system's roots and the server's name (tests).
	TLSConfig *tls.Config
}

// Message is one e-mail: a plain text and, with a FileName, one attachment.
type Message struct {
	From          string
	To            []string
	Subject, Body string
	FileName      string
	Attachment    []byte
}

// Send builds m and sends it through s; the error names the server.
func (s Server) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("smtp.from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if m.FileName != "" {
		if err := msg.AttachReader(m.FileName, bytes.NewReader(m.Attachment)); err != nil {
			return err
		}
	}
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(30 * time.Second)}
	switch s.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLSConfig))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	cl, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail server %s: %w", s.Host, err)
	}
	if err := cl.DialAndSendWithContext(ctx, msg); err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			// "dial failed: dial tcp host:port: connect: …" repeats the
			// address this message names.
			return fmt.Errorf("sending through %s:%d: cannot connect: %w", s.Host, s.Port, op.Err)
		}
		return fmt.Errorf("sending through %s:%d: %w", s.Host, s.Port, err)
	}
	return nil
}
