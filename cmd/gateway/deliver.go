package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	gomail "github.com/wneessen/go-mail"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
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

var periods = []string{"yesterday", "last-week", "last-month"}

func (c *Config) validateDelivery(k *checker) {
	for i, s := range c.Reports {
		key := fmt.Sprintf("reports[%d]", i)
		if _, err := report.Lookup(s.Report); err != nil {
			k.add(key+".report", "%v", err)
		} else if s.Report == "carriers" && len(c.Report.Carriers) == 0 {
			k.add(key+".report", "carriers needs alternative tariffs: list their files under report.carriers")
		}
		k.oneOf(key+".period", s.Period, periods)
		if s.Format != "" {
			k.oneOf(key+".format", s.Format, render.Formats)
		}
		if _, err := parseCron(s.Schedule); err != nil {
			k.add(key+".schedule", "%v", err)
		}
		if len(s.To) == 0 {
			k.add(key+".to", "missing: list the addresses to send the report to")
		}
		for j, a := range s.To {
			if _, err := mail.ParseAddress(a); err != nil {
				k.add(fmt.Sprintf("%s.to[%d]", key, j), "%q is not an e-mail address", a)
			}
		}
	}
	m := c.SMTP
	if len(c.Reports) == 0 && m.Host == "" {
		return
	}
	k.required("smtp.host", m.Host, "the mail server's name, e.g. mail.example.com")
	if m.Port < 1 || m.Port > 65535 {
		k.add("smtp.port", "%d is not a port from 1 to 65535", m.Port)
	}
	k.oneOf("smtp.tls", m.TLS, []string{"starttls", "tls", "none"})
	if k.required("smtp.from", m.From, "the sender address, e.g. callgate@hotel.example") {
		if _, err := mail.ParseAddress(m.From); err != nil {
			k.add("smtp.from", "%q is not an e-mail address", m.From)
		}
	}
	if m.Username != "" && m.TLS == "none" {
		k.add("smtp.username", "a password is never sent without encryption: use tls: starttls or tls, or a relay that needs no login")
	}
	if m.Username != "" && m.Password == "" {
		k.add("smtp.password", "missing: smtp.username is set, so the server needs its password")
	}
}

// periodDates returns the local dates a period names, seen at now.
func periodDates(period string, now time.Time) (time.Time, time.Time) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case "last-week":
		back := (int(today.Weekday())+6)%7 + 7 // to last week's Monday
		from := today.AddDate(0, 0, -back)
		return from, from.AddDate(0, 0, 6)
	case "last-month":
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.AddDate(0, -1, 0), first.AddDate(0, 0, -1)
	}
	y := today.AddDate(0, 0, -1)
	return y, y
}

// mailer sends e-mail through the configured server.
type mailer struct {
	cfg SMTPConfig
	tls *tls.Config // nil: the system's roots and the server's name
}

func (m mailer) send(ctx context.Context, msg *gomail.Msg) error {
	opts := []gomail.Option{gomail.WithPort(m.cfg.Port), gomail.WithTimeout(30 * time.Second)}
	switch m.cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.tls != nil {
		opts = append(opts, gomail.WithTLSConfig(m.tls))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	cl, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail server %s: %w", m.cfg.Host, err)
	}
	if err := cl.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("sending through %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}

// reportMessage builds the e-mail of a report: a short text (title,
// period, notes) and the report attached in its format.
func reportMessage(site, from string, to []string, t *report.Table, format string) (*gomail.Msg, error) {
	var att bytes.Buffer
	if err := render.Write(&att, t, format); err != nil {
		return nil, err
	}
	period := t.From.Format(time.DateOnly) + " to " + t.To.Format(time.DateOnly)
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("smtp.from: %w", err)
	}
	if err := msg.To(to...); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	msg.Subject(fmt.Sprintf("%s: %s, %s", site, t.Title, period))
	msg.SetDate()
	msg.SetMessageID()
	var body strings.Builder
	fmt.Fprintf(&body, "%s\n%s, %s\n\n", t.Title, site, period)
	for _, n := range t.Notes {
		fmt.Fprintln(&body, n)
	}
	fmt.Fprintf(&body, "\nThe report is attached (%s, %d rows).\n-- \ncallgate\n", format, len(t.Rows))
	msg.SetBodyString(gomail.TypeTextPlain, body.String())
	ext := format
	if format == "table" {
		ext = "txt"
	}
	name := fmt.Sprintf("%s_%s_%s.%s", t.Name, t.From.Format(time.DateOnly), t.To.Format(time.DateOnly), ext)
	if err := msg.AttachReader(name, &att); err != nil {
		return nil, err
	}
	return msg, nil
}

// DeliveryStatus is the state of one scheduled report, for the dashboard:
// the report package's type, so that the console can show it.
type DeliveryStatus = report.Delivery

// Scheduler sends the config's reports: each at its schedule's times, for
// the period before, retrying a failed sending after each of Retry's waits.
type Scheduler struct {
	cfg     *Config
	q       gateway.Queries
	log     zerolog.Logger
	mail    mailer
	specs   []*cronSpec
	Retry   []time.Duration
	mu      sync.Mutex
	status  []DeliveryStatus
	nowFunc func() time.Time
}

// NewScheduler returns the scheduler of c's reports section, reading the
// journal through q.
func NewScheduler(c *Config, q gateway.Queries, log zerolog.Logger) (*Scheduler, error) {
	s := &Scheduler{cfg: c, q: q, log: log.With().Str("component", "reports").Logger(), mail: mailer{cfg: c.SMTP},
		Retry: []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}, nowFunc: time.Now}
	for _, r := range c.Reports {
		spec, err := parseCron(r.Schedule)
		if err != nil {
			return nil, err
		}
		s.specs = append(s.specs, spec)
		s.status = append(s.status, DeliveryStatus{Report: r.Report, Period: r.Period, To: slices.Clone(r.To), Schedule: r.Schedule})
	}
	return s, nil
}

// Status returns the state of every scheduled report, in config order.
func (s *Scheduler) Status() []DeliveryStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.status)
	for i := range out {
		out[i].To = slices.Clone(out[i].To)
	}
	return out
}

func (s *Scheduler) now() time.Time { return s.nowFunc().In(s.cfg.Location) }

// Run sends the reports when they are due until ctx ends. Each schedule
// runs in its own goroutine, so a slow or failing mail server delays only
// its own reports.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range s.specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next := s.specs[i].next(s.now())
				if next.IsZero() {
					return
				}
				s.update(i, func(st *DeliveryStatus) { st.Next = next })
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				s.deliver(ctx, i, next)
			}
		}()
	}
	wg.Wait()
}

func (s *Scheduler) update(i int, fn func(*DeliveryStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.status[i])
}

// deliver sends schedule i's report for the period before at, retrying
// after each of s.Retry's waits; it returns the last error.
func (s *Scheduler) deliver(ctx context.Context, i int, at time.Time) error {
	r := s.cfg.Reports[i]
	log := s.log.With().Str("report", r.Report).Str("period", r.Period).Logger()
	for attempt := 0; ; attempt++ {
		err := s.sendOnce(ctx, r, at)
		now := s.now()
		s.update(i, func(st *DeliveryStatus) {
			st.LastRun = now
			if err == nil {
				st.LastOK, st.LastError, st.Failures = now, "", 0
			} else {
				st.LastError = err.Error()
				st.Failures++
			}
		})
		if err == nil {
			log.Info().Int("recipients", len(r.To)).Msg("scheduled report sent")
			return nil
		}
		if attempt >= len(s.Retry) || ctx.Err() != nil {
			log.Error().Err(err).Int("attempts", attempt+1).Msg("scheduled report not sent: giving up until its next time")
			return err
		}
		log.Warn().Err(err).Dur("retry_in", s.Retry[attempt]).Msg("scheduled report not sent: will retry")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.Retry[attempt]):
		}
	}
}

func (s *Scheduler) sendOnce(ctx context.Context, r ScheduleConfig, at time.Time) error {
	rep, err := report.Lookup(r.Report)
	if err != nil {
		return err
	}
	o := s.cfg.reportOptions()
	o.From, o.To = periodDates(r.Period, at.In(s.cfg.Location))
	if r.Report == "carriers" {
		// Read at each sending, so that a carrier's new prices count.
		if o.Tariffs, err = s.cfg.carrierTariffs(); err != nil {
			return err
		}
	}
	t, err := runReport(ctx, s.q, rep, o)
	if err != nil {
		return err
	}
	format := r.Format
	if format == "" {
		format = "xlsx"
	}
	msg, err := reportMessage(s.cfg.Site.Name, s.cfg.SMTP.From, r.To, t, format)
	if err != nil {
		return err
	}
	return s.mail.send(ctx, msg)
}
