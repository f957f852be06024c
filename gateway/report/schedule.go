package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// Cron is a five-field cron schedule: minute hour day-of-month month
// day-of-week, each *, a number, a range a-b, a list a,b and a step */n or
// a-b/n. Day of week 0 or 7 is Sunday. As in cron, when both day fields are
// restricted a day matching either is taken.
type Cron struct {
	min, hour, dom, mon, dow [61]bool
	domAny, dowAny           bool
}

// ParseCron reads a five-field cron schedule; the error names the field
// and shows a good one.
func ParseCron(s string) (*Cron, error) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return nil, fmt.Errorf("%q is not a cron schedule of five fields (minute hour day month weekday), like \"0 6 * * *\" for 06:00 every day", s)
	}
	c := &Cron{domAny: f[2] == "*", dowAny: f[4] == "*"}
	for i, p := range []struct {
		set      *[61]bool
		lo, hi   int
		name     string
		sundayIs bool
	}{{&c.min, 0, 59, "minute", false}, {&c.hour, 0, 23, "hour", false}, {&c.dom, 1, 31, "day of month", false},
		{&c.mon, 1, 12, "month", false}, {&c.dow, 0, 7, "day of week", true}} {
		if err := cronField(f[i], p.lo, p.hi, p.set); err != nil {
			return nil, fmt.Errorf("%q: the %s field %v", s, p.name, err)
		}
		if p.sundayIs && p.set[7] {
			p.set[0] = true
		}
	}
	return c, nil
}

func cronField(f string, lo, hi int, set *[61]bool) error {
	for _, part := range strings.Split(f, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 {
				return fmt.Errorf("%q has a bad step", part)
			}
			step = n
		}
		a, b := lo, hi
		if rng != "*" {
			x, y, isRange := strings.Cut(rng, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b = a
			if isRange {
				b, err2 = strconv.Atoi(y)
			} else if hasStep {
				b = hi
			}
			if err1 != nil || err2 != nil || a < lo || b > hi || a > b {
				return fmt.Errorf("%q is not a number or range from %d to %d", part, lo, hi)
			}
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	return nil
}

func (c *Cron) day(t time.Time) bool {
	dom, dow := c.dom[t.Day()], c.dow[int(t.Weekday())]
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

// Next returns the first minute after t (in t's location) the schedule
// names; zero if none within five years (31 February). A time the clocks
// skip that day (02:30 when summer time begins) is skipped.
func (c *Cron) Next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	// A step that time.Date would take backwards (a local midnight or hour
	// the clocks skip) moves to the next hour instead.
	forward := func(cand time.Time) time.Time {
		if cand.After(t) {
			return cand
		}
		return t.Add(time.Duration(60-t.Minute()) * time.Minute)
	}
	for t.Before(limit) {
		switch {
		case !c.mon[int(t.Month())]:
			t = forward(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc))
		case !c.day(t):
			t = forward(time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc))
		case !c.hour[t.Hour()]:
			t = t.Add(time.Duration(60-t.Minute()) * time.Minute)
		case !c.min[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

// Schedule is one report sent by e-mail on a schedule.
type Schedule struct {
	Report string
	Period string // one of Periods
	Format string // an output format ("" is xlsx)
	Cron   string // five-field cron, in the site's time zone
	To     []string
}

// Problems checks a schedule written under key (reports[0]); carriers says
// whether the config lists the alternative tariffs the carriers report needs.
// Each problem's line is the caller's to find.
func (s Schedule) Problems(key string, carriers bool) []gateway.Problem {
	var ps []gateway.Problem
	add := func(k, format string, args ...any) {
		ps = append(ps, gateway.Problem{Key: key + k, Msg: fmt.Sprintf(format, args...)})
	}
	oneOf := func(k, v string, valid []string) {
		if !slices.Contains(valid, v) {
			add(k, "%q is not one of %s", v, strings.Join(valid, ", "))
		}
	}
	if _, err := Lookup(s.Report); err != nil {
		add(".report", "%v", err)
	} else if s.Report == "carriers" && !carriers {
		add(".report", "carriers needs alternative tariffs: list their files under report.carriers")
	}
	oneOf(".period", s.Period, Periods)
	if s.Format != "" {
		oneOf(".format", s.Format, Formats)
	}
	if _, err := ParseCron(s.Cron); err != nil {
		add(".schedule", "%v", err)
	}
	if len(s.To) == 0 {
		add(".to", "missing: list the addresses to send the report to")
	}
	for j, a := range s.To {
		if _, err := mail.ParseAddress(a); err != nil {
			add(fmt.Sprintf(".to[%d]", j), "%q is not an e-mail address", a)
		}
	}
	return ps
}

// Periods are the periods a schedule may send: yesterday, last week (Monday
// to Sunday), last month.
var Periods = []string{"yesterday", "last-week", "last-month"}

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

// Letter is a report ready to be mailed: a subject, a short text (title,
// period, notes) and the report as an attachment in its format.
type Letter struct {
	Subject, Body string
	FileName      string // the attachment's
	Attachment    []byte
}

// Formats are the output formats a report is written in (package render
// writes them; a schedule names one).
var Formats = []string{"table", "csv", "json", "xlsx", "html"}

// Render writes a report table in one of Formats. Package render provides
// it; the scheduler is handed it, since render builds on this package.
type Render func(w io.Writer, t *Table, format string) error

// Compose writes t in format through write and wraps it in a letter from
// site.
func Compose(site string, t *Table, format string, write Render) (Letter, error) {
	if write == nil {
		return Letter{}, gateway.Errorf(gateway.KindInternal, "no report writer was given to compose the %s letter", t.Name)
	}
	var att bytes.Buffer
	if err := write(&att, t, format); err != nil {
		return Letter{}, err
	}
	period := t.From.Format(time.DateOnly) + " to " + t.To.Format(time.DateOnly)
	var body strings.Builder
	fmt.Fprintf(&body, "%s\n%s, %s\n\n", t.Title, site, period)
	for _, n := range t.Notes {
		fmt.Fprintln(&body, n)
	}
	fmt.Fprintf(&body, "\nThe report is attached (%s, %d rows).\n-- \ncallgate\n", format, len(t.Rows))
	ext := format
	if format == "table" {
		ext = "txt"
	}
	return Letter{
		Subject:    fmt.Sprintf("%s: %s, %s", site, t.Title, period),
		Body:       body.String(),
		FileName:   fmt.Sprintf("%s_%s_%s.%s", t.Name, t.From.Format(time.DateOnly), t.To.Format(time.DateOnly), ext),
		Attachment: att.Bytes(),
	}, nil
}

// SchedulerConfig is what a Scheduler sends, from where, and how.
type SchedulerConfig struct {
	Site      string         // names the sender in the letters
	Location  *time.Location // the site's time zone: the schedules' and the periods'
	Schedules []Schedule
	Queries   gateway.Queries // the journal the reports read
	// Options returns the options of a report, read at each sending (the
	// carriers report's alternative tariffs, whose prices may change); the
	// scheduler sets the dates.
	Options func(report string) (Options, error)
	// Render writes the attachment (render.Write).
	Render Render
	// Send mails a letter to the addresses.
	Send   func(ctx context.Context, to []string, l Letter) error
	Logger zerolog.Logger
}

// Scheduler sends reports: each at its schedule's times, for the period
// before, retrying a failed sending after each of Retry's waits.
type Scheduler struct {
	cfg   SchedulerConfig
	log   zerolog.Logger
	crons []*Cron
	Retry []time.Duration
	// Now is the scheduler's clock (time.Now).
	Now    func() time.Time
	mu     sync.Mutex
	status []Delivery
}

// NewScheduler returns the scheduler of c's schedules; a bad cron schedule is
// an error.
func NewScheduler(c SchedulerConfig) (*Scheduler, error) {
	s := &Scheduler{cfg: c, log: c.Logger.With().Str("component", "reports").Logger(),
		Retry: []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}, Now: time.Now}
	for _, r := range c.Schedules {
		cron, err := ParseCron(r.Cron)
		if err != nil {
			return nil, err
		}
		s.crons = append(s.crons, cron)
		s.status = append(s.status, Delivery{Report: r.Report, Period: r.Period, To: slices.Clone(r.To), Schedule: r.Cron})
	}
	return s, nil
}

// Status returns the state of every scheduled report, in config order.
func (s *Scheduler) Status() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.status)
	for i := range out {
		out[i].To = slices.Clone(out[i].To)
	}
	return out
}

func (s *Scheduler) now() time.Time { return s.Now().In(s.cfg.Location) }

// Run sends the reports when they are due until ctx ends. Each schedule
// runs in its own goroutine, so a slow or failing mail server delays only
// its own reports.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range s.crons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next := s.crons[i].Next(s.now())
				if next.IsZero() {
					return
				}
				s.update(i, func(st *Delivery) { st.Next = next })
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				s.Deliver(ctx, i, next)
			}
		}()
	}
	wg.Wait()
}

func (s *Scheduler) update(i int, fn func(*Delivery)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.status[i])
}

// Deliver sends schedule i's report for the period before at, retrying
// after each of s.Retry's waits; it returns the last error.
func (s *Scheduler) Deliver(ctx context.Context, i int, at time.Time) error {
	r := s.cfg.Schedules[i]
	log := s.log.With().Str("report", r.Report).Str("period", r.Period).Logger()
	for attempt := 0; ; attempt++ {
		err := s.sendOnce(ctx, r, at)
		now := s.now()
		s.update(i, func(st *Delivery) {
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

func (s *Scheduler) sendOnce(ctx context.Context, r Schedule, at time.Time) error {
	if _, err := Lookup(r.Report); err != nil {
		return err
	}
	o, err := s.cfg.Options(r.Report)
	if err != nil {
		return err
	}
	o.From, o.To = periodDates(r.Period, at.In(s.cfg.Location))
	t, err := Generate(ctx, s.cfg.Queries, r.Report, o)
	if err != nil {
		return err
	}
	format := r.Format
	if format == "" {
		format = "xlsx"
	}
	l, err := Compose(s.cfg.Site, t, format, s.cfg.Render)
	if err != nil {
		return err
	}
	return s.cfg.Send(ctx, r.To, l)
}
