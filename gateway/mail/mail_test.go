package mail_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"callgate/gateway/mail"
	"callgate/gateway/mail/mailtest"
)

var letter = mail.Message{From: "callgate@hotel.test", To: []string{"it@hotel.test", "gm@hotel.test"},
	Subject: "Grand Hotel: Rooms, 2026-05-01 to 2026-05-01", Body: "Rooms\nGrand Hotel\n",
	FileName: "rooms_2026-05-01_2026-05-01.xlsx", Attachment: []byte("PK\x03\x04 not text \x00\xff")}

// TestSend: over STARTTLS with authentication, the message arrives with its
// subject, text and attachment byte for byte.
func TestSend(t *testing.T) {
	srv := mailtest.Start(t, 0, false)
	s := mail.Server{Host: srv.Host, Port: srv.Port, TLS: "starttls", Username: mailtest.User, Password: mailtest.Password, TLSConfig: srv.TLSConfig()}
	if err := s.Send(context.Background(), letter); err != nil {
		t.Fatal(err)
	}
	got := srv.Sent()
	if len(got) != 1 || got[0].From != "callgate@hotel.test" || strings.Join(got[0].To, " ") != "it@hotel.test gm@hotel.test" {
		t.Fatalf("sent %+v", got)
	}
	header, text, files := got[0].Read(t)
	if subj := header.Get("Subject"); subj != letter.Subject {
		t.Errorf("subject %q", subj)
	}
	if !strings.Contains(text, "Grand Hotel") {
		t.Errorf("text %q", text)
	}
	if b, ok := files[letter.FileName]; !ok || !bytes.Equal(b, letter.Attachment) {
		t.Errorf("attachment %q: %q", letter.FileName, b)
	}
}

func TestSendFails(t *testing.T) {
	for _, c := range []struct {
		name string
		srv  func(*mailtest.Server) mail.Server
		fail int
		want string
	}{
		{"refused", func(m *mailtest.Server) mail.Server {
			return mail.Server{Host: m.Host, Port: m.Port, Username: mailtest.User, Password: mailtest.Password, TLSConfig: m.TLSConfig()}
		}, 1, "try again later"},
		{"bad login", func(m *mailtest.Server) mail.Server {
			return mail.Server{Host: m.Host, Port: m.Port, Username: mailtest.User, Password: "wrong", TLSConfig: m.TLSConfig()}
		}, 0, "sending through 127.0.0.1"},
		{"untrusted certificate", func(m *mailtest.Server) mail.Server {
			return mail.Server{Host: m.Host, Port: m.Port, Username: mailtest.User, Password: mailtest.Password}
		}, 0, "sending through 127.0.0.1"},
		{"bad sender", func(m *mailtest.Server) mail.Server { return mail.Server{Host: m.Host, Port: m.Port} }, 0, "smtp.from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mailtest.Start(t, c.fail, false)
			msg := letter
			if c.name == "bad sender" {
				msg.From = "not an address"
			}
			err := c.srv(m).Send(context.Background(), msg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
			if len(m.Sent()) != 0 {
				t.Error("a refused message counted as sent")
			}
		})
	}
}

// TestSendRelay: a hotel's internal relay, no TLS and no login.
func TestSendRelay(t *testing.T) {
	srv := mailtest.Start(t, 0, true)
	if err := (mail.Server{Host: srv.Host, Port: srv.Port, TLS: "none"}).Send(context.Background(), letter); err != nil {
		t.Fatal(err)
	}
	if got := srv.Sent(); len(got) != 1 || len(got[0].To) != 2 {
		t.Errorf("sent %+v", got)
	}
}

// TestSendRefusedNamesAddressOnce (issue #14, D14): a server that refuses
// the connection is named once, not "sending through h:p: dial failed:
// dial tcp h:p: connect: …".
func TestSendRefusedNamesAddressOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close() // nothing listens there now
	err = (mail.Server{Host: "127.0.0.1", Port: addr.Port, TLS: "none"}).Send(context.Background(), letter)
	if err == nil || strings.Count(err.Error(), addr.String()) != 1 || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("%v: want the address once", err)
	}
}
