package main

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/mail"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// SMTPConfig is the mail server scheduled reports are sent through (the
// mail package's section).
type SMTPConfig = mail.Config

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
	if len(c.Reports) > 0 || c.SMTP.Host != "" || c.Alarms.NeedsSMTP() {
		c.SMTP.Check(k)
	}
}

// mailServer is the smtp section as the mail adapter's server.
func (c *Config) mailServer() *mail.Server { return c.SMTP.Server() }

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
