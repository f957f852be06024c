package main

import (
	"context"
	"fmt"
	netmail "net/mail"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/mail"
)

// SMTPConfig is the mail server scheduled reports are sent through.
//
//	smtp: {host: mail.example.com, port: 587, tls: starttls, username: callgate, password: secret, from: callgate@hotel.example}
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`     // default 587
	TLS      string `yaml:"tls"`      // starttls (default: required), tls (implicit, port 465), none
	Username string `yaml:"username"` // "" sends without authentication
	Password string `yaml:"password"`
	From     string `yaml:"from"`
}

// ScheduleConfig is one report sent by e-mail on a schedule.
//
//	reports:
//	  - {report: busy-hour, period: last-week, format: xlsx, schedule: "0 6 * * 1", to: [it@hotel.example]}
type ScheduleConfig struct {
	Report   string   `yaml:"report"`
	Period   string   `yaml:"period"`   // yesterday, last-week (Monday to Sunday), last-month
	Format   string   `yaml:"format"`   // an output format (default xlsx)
	Schedule string   `yaml:"schedule"` // five-field cron, in the site's time zone
	To       []string `yaml:"to"`
}

// schedules are the reports section as the scheduler's schedules.
func (c *Config) schedules() []report.Schedule {
	var out []report.Schedule
	for _, r := range c.Reports {
		out = append(out, report.Schedule{Report: r.Report, Period: r.Period, Format: r.Format, Cron: r.Schedule, To: r.To})
	}
	return out
}

func (c *Config) validateDelivery(k *checker) {
	for i, s := range c.schedules() {
		for _, p := range s.Problems(fmt.Sprintf("reports[%d]", i), len(c.Report.Carriers) > 0) {
			k.Add(p.Key, "%s", p.Msg)
		}
	}
	m := c.SMTP
	if len(c.Reports) == 0 && m.Host == "" {
		return
	}
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

// mailServer is the smtp section as the mail adapter's server.
func (c *Config) mailServer() *mail.Server {
	m := c.SMTP
	return &mail.Server{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: m.Password}
}

// mailLetter sends a report's letter through server, from the smtp section's
// sender.
func (c *Config) mailLetter(server *mail.Server) func(context.Context, []string, report.Letter) error {
	return func(ctx context.Context, to []string, l report.Letter) error {
		return server.Send(ctx, mail.Message{From: c.SMTP.From, To: to, Subject: l.Subject, Body: l.Body, FileName: l.FileName, Attachment: l.Attachment})
	}
}

// newScheduler returns the scheduler of c's reports section, reading the
// journal through q and mailing through server.
func newScheduler(c *Config, q gateway.Queries, server *mail.Server, log zerolog.Logger) (*report.Scheduler, error) {
	return report.NewScheduler(report.SchedulerConfig{Site: c.Site.Name, Location: c.Location, Schedules: c.schedules(), Queries: q, Render: render.Write,
		Options: func(name string) (report.Options, error) {
			o := c.reportOptions()
			if name != "carriers" {
				return o, nil
			}
			// Read at each sending, so that a carrier's new prices count.
			var err error
			o.Tariffs, err = c.carrierTariffs()
			return o, err
		},
		Send: c.mailLetter(server), Logger: log})
}
