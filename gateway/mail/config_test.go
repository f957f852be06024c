package mail

import (
	"strings"
	"testing"

	"callgate/gateway"
)

func TestConfigCheck(t *testing.T) {
	k := &gateway.Checker{}
	Config{Host: "mail.example.com", Port: 587, TLS: "starttls", From: "callgate@hotel.example"}.Check(k)
	if len(k.Problems) != 0 {
		t.Fatalf("a good section: %v", k.Problems)
	}
	Config{Port: 0, TLS: "none", Username: "u", From: "nobody"}.Check(k)
	for _, want := range []string{
		"smtp.host: missing: the mail server's name",
		"smtp.port: 0 is not a port from 1 to 65535",
		`smtp.from: "nobody" is not an e-mail address`,
		"smtp.username: a password is never sent without encryption",
		"smtp.password: missing: smtp.username is set",
	} {
		if !strings.Contains(k.Problems.Error(), want) {
			t.Errorf("problems %q lack %q", k.Problems.Error(), want)
		}
	}
	if s := (Config{Host: "h", Port: 25, TLS: "none", Username: "u", Password: "p"}).Server(); *s != (Server{Host: "h", Port: 25, TLS: "none", Username: "u", Password: "p"}) {
		t.Errorf("server %+v", s)
	}
}
