package mail

import (
	netmail "net/mail"

	"callgate/gateway"
)

// Config is the smtp section of the gateway's config file: the mail server
// scheduled reports are sent through.
//
//	smtp: {host: mail.example.com, port: 587, tls: starttls, username: callgate, password: secret, from: callgate@hotel.example}
type Config struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`     // default 587
	TLS      string `yaml:"tls"`      // starttls (default: required), tls (implicit, port 465), none
	Username string `yaml:"username"` // "" sends without authentication
	Password string `yaml:"password"`
	From     string `yaml:"from"`
}

// DefaultConfig returns the settings an smtp section starts from.
func DefaultConfig() Config { return Config{Port: 587, TLS: "starttls"} }

// Check records the section's problems, under smtp.
func (m Config) Check(k *gateway.Checker) {
	k.Required("smtp.host", m.Host, "the mail server's name, e.g. mail.example.com")
	if m.Port < 1 || m.Port > 65535 {
		k.Add("smtp.port", "%d is not a port from 1 to 65535", m.Port)
	}
	k.OneOf("smtp.tls", m.TLS, []string{"starttls", "tls", "none"})
	if k.Required("smtp.from", m.From, "the sender address, e.g. callgate@hotel.example") {
		if _, err := netmail.ParseAddress(m.From); err != nil {
			k.Add("smtp.from", "%q is not an e-mail address", m.From)
		}
	}
	if m.Username != "" && m.TLS == "none" {
		k.Add("smtp.username", "a password is never sent without encryption: use tls: starttls or tls, or a relay that needs no login")
	}
	if m.Username != "" && m.Password == "" {
		k.Add("smtp.password", "missing: smtp.username is set, so the server needs its password")
	}
}

// Server is the section's mail server.
func (m Config) Server() *Server {
	return &Server{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: m.Password}
}
