package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestCron(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	for _, c := range []struct {
		spec     string
		from, to time.Time
	}{
		{"0 6 * * *", at(2026, 11, 27, 5, 0), at(2026, 11, 27, 6, 0)},
		{"0 6 * * *", at(2026, 11, 27, 6, 0), at(2026, 11, 28, 6, 0)},
		{"30 7 * * 1", at(2026, 11, 27, 8, 0), at(2026, 11, 30, 7, 30)}, // Friday → Monday
		{"0 5 1 * *", at(2026, 11, 27, 8, 0), at(2026, 12, 1, 5, 0)},
		{"*/15 * * * *", at(2026, 11, 27, 8, 7), at(2026, 11, 27, 8, 15)},
		{"0 0 1 1 *", at(2026, 11, 27, 8, 0), at(2027, 1, 1, 0, 0)},
		{"0 6 13 * 5", at(2026, 11, 1, 0, 0), at(2026, 11, 6, 6, 0)}, // the 13th or a Friday
		{"0 9 * * 0", at(2026, 11, 27, 8, 0), at(2026, 11, 29, 9, 0)},
		{"0 9 * * 7", at(2026, 11, 27, 8, 0), at(2026, 11, 29, 9, 0)},
		{"0 2 * * *", at(2026, 3, 8, 0, 0), at(2026, 3, 9, 2, 0)}, // 02:00 does not exist on the 8th in New York
	} {
		t.Run(c.spec+" after "+c.from.Format(time.DateTime), func(t *testing.T) {
			s, err := ParseCron(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(c.from); !got.Equal(c.to) {
				t.Errorf("%q after %v: %v, want %v", c.spec, c.from, got, c.to)
			}
		})
	}
	for _, bad := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParseCron(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		})
	}
	// Chile moves its clocks at midnight: 2026-09-06 00:00 does not exist.
	scl, _ := time.LoadLocation("America/Santiago")
	s, _ := ParseCron("0 0 * * *")
	if got := s.Next(time.Date(2026, 9, 5, 12, 0, 0, 0, scl)); !got.Equal(time.Date(2026, 9, 7, 0, 0, 0, 0, scl)) {
		t.Errorf("Santiago midnight: %v", got)
	}
	s, _ = ParseCron("0 0 31 2 *")
	if got := s.Next(at(2026, 1, 1, 0, 0)); !got.IsZero() {
		t.Errorf("31 February: %v", got)
	}
}

func TestPeriodDates(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) // a Friday
	for _, c := range []struct{ p, from, to string }{
		{"yesterday", "2026-11-26", "2026-11-26"},
		{"last-week", "2026-11-16", "2026-11-22"},
		{"last-month", "2026-10-01", "2026-10-31"},
	} {
		t.Run(c.p, func(t *testing.T) {
			f, to := periodDates(c.p, now)
			if f.Format(time.DateOnly) != c.from || to.Format(time.DateOnly) != c.to {
				t.Errorf("%s: %v %v", c.p, f, to)
			}
		})
	}
	// On a Monday, last week ended yesterday.
	if f, _ := periodDates("last-week", time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)); f.Format(time.DateOnly) != "2026-11-23" {
		t.Errorf("Monday: %v", f)
	}
	if f, to := periodDates("last-month", time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)); f.Format(time.DateOnly) != "2025-12-01" || to.Format(time.DateOnly) != "2025-12-31" {
		t.Errorf("January: %v %v", f, to)
	}
}

// outbox is a Send that refuses the first fail letters and keeps the rest.
type outbox struct {
	mu   sync.Mutex
	fail int
	to   [][]string
	got  []Letter
}

func (b *outbox) send(_ context.Context, to []string, l Letter) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail > 0 {
		b.fail--
		return errors.New("451 try again later")
	}
	b.to, b.got = append(b.to, to), append(b.got, l)
	return nil
}

// writeRows is the schedulers' Render in these tests: the format, then each
// row's first cell (package render's writers have tests of their own; cmd's
// scheduled-report tests read a real spreadsheet attached).
func writeRows(w io.Writer, t *Table, format string) error {
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("no format %q", format)
	}
	fmt.Fprintln(w, format)
	for _, r := range t.Rows {
		fmt.Fprintln(w, r[0])
	}
	return nil
}

// testScheduler schedules one report over the month fixture, daily at 06:00
// for yesterday, mailing through box.
func testScheduler(t *testing.T, box *outbox, report, format string, options func(string) (Options, error)) *Scheduler {
	t.Helper()
	f := month(t)
	if options == nil {
		options = func(string) (Options, error) { return f.o, nil }
	}
	s, err := NewScheduler(SchedulerConfig{Site: "Grand Hotel", Location: time.UTC, Queries: &pager{es: f.es}, Options: options, Send: box.send, Render: writeRows,
		Schedules: []Schedule{{Report: report, Period: "yesterday", Format: format, Cron: "0 6 * * *", To: []string{"it@hotel.test", "gm@hotel.test"}}},
		Logger:    zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	s.Retry = []time.Duration{time.Millisecond, time.Millisecond}
	return s
}

// TestSchedulerDelivers: after one refusal retried, the report is sent with
// its text and the spreadsheet attached; the status shows the success.
func TestSchedulerDelivers(t *testing.T) {
	box := &outbox{fail: 1}
	s := testScheduler(t, box, "busy-hour", "", nil)
	if err := s.Deliver(context.Background(), 0, time.Date(2026, 11, 11, 6, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	st := s.Status()[0]
	if st.LastOK.IsZero() || st.LastError != "" || st.Failures != 0 || st.Schedule != "0 6 * * *" {
		t.Errorf("status %+v", st)
	}
	if len(box.got) != 1 || strings.Join(box.to[0], " ") != "it@hotel.test gm@hotel.test" {
		t.Fatalf("sent %d letters to %v", len(box.got), box.to)
	}
	l := box.got[0]
	if l.Subject != "Grand Hotel: Busy hour: trunk traffic per clock hour, 2026-11-10 to 2026-11-10" {
		t.Errorf("subject %q", l.Subject)
	}
	if l.FileName != "busy-hour_2026-11-10_2026-11-10.xlsx" || !strings.Contains(l.Body, "Busiest hour of the period: 2026-11-10T14:00") ||
		!strings.Contains(l.Body, "The report is attached (xlsx,") {
		t.Errorf("letter %q:\n%s", l.FileName, l.Body)
	}
	// The attachment is what Render wrote: the format, then one line a row
	// (as many rows as the letter says).
	lines := strings.Split(strings.TrimSuffix(string(l.Attachment), "\n"), "\n")
	if lines[0] != "xlsx" || !strings.Contains(l.Body, fmt.Sprintf("(xlsx, %d rows)", len(lines)-1)) || len(lines) < 2 {
		t.Errorf("attachment %q for the letter:\n%s", l.Attachment, l.Body)
	}
}

// TestSchedulerFails: a sending refused every time is tried once and after
// each of Retry's waits, then given up with the error in the status.
func TestSchedulerFails(t *testing.T) {
	box := &outbox{fail: 100}
	s := testScheduler(t, box, "busy-hour", "csv", nil)
	err := s.Deliver(context.Background(), 0, time.Date(2026, 11, 11, 6, 0, 0, 0, time.UTC))
	st := s.Status()[0]
	if err == nil || st.Failures != 3 || !strings.Contains(st.LastError, "try again later") || !st.LastOK.IsZero() {
		t.Errorf("err %v, status %+v", err, st)
	}
	if len(box.got) != 0 {
		t.Error("a refused letter counted as sent")
	}
}

// TestSchedulerOptions: the options are read at each sending, and an error
// reading them (a carrier's tariff gone) is the sending's error.
func TestSchedulerOptions(t *testing.T) {
	box := &outbox{}
	reads := 0
	fail := false
	o := month(t).o
	s := testScheduler(t, box, "rooms", "table", func(name string) (Options, error) {
		reads++
		if fail {
			return Options{}, errors.New("alternative tariff carrier-b.yaml: no such file")
		}
		return o, nil
	})
	s.Retry = nil
	at := time.Date(2026, 11, 11, 6, 0, 0, 0, time.UTC)
	if err := s.Deliver(context.Background(), 0, at); err != nil || len(box.got) != 1 || box.got[0].FileName != "rooms_2026-11-10_2026-11-10.txt" {
		t.Fatalf("err %v, sent %+v", err, box.got)
	}
	fail = true
	if err := s.Deliver(context.Background(), 0, at); err == nil || !strings.Contains(s.Status()[0].LastError, "carrier-b.yaml") || reads != 2 {
		t.Errorf("a missing tariff file: %v, status %+v, %d reads", err, s.Status()[0], reads)
	}
}

func TestNewSchedulerBadCron(t *testing.T) {
	_, err := NewScheduler(SchedulerConfig{Schedules: []Schedule{{Report: "rooms", Cron: "6 am"}}})
	if err == nil || !strings.Contains(err.Error(), "five fields") {
		t.Errorf("bad cron: %v", err)
	}
}

func TestScheduleProblems(t *testing.T) {
	good := Schedule{Report: "busy-hour", Period: "last-week", Format: "xlsx", Cron: "0 6 * * 1", To: []string{"it@hotel.test"}}
	if ps := good.Problems("reports[0]", false); len(ps) != 0 {
		t.Errorf("a good schedule: %v", ps)
	}
	if ps := (Schedule{Report: "carriers", Period: "yesterday", Cron: "0 6 * * *", To: []string{"it@hotel.test"}}).Problems("reports[1]", true); len(ps) != 0 {
		t.Errorf("carriers with tariffs: %v", ps)
	}
	for _, c := range []struct {
		name     string
		s        Schedule
		carriers bool
		want     map[string]string
	}{
		{"everything wrong", Schedule{Report: "nonsense", Period: "fortnight", Format: "pdf", Cron: "6 am", To: []string{"not-an-address"}}, false, map[string]string{
			"reports[0].report": "nonsense", "reports[0].period": `"fortnight" is not one of yesterday, last-week, last-month`,
			"reports[0].format": `"pdf" is not one of`, "reports[0].schedule": "five fields", "reports[0].to[0]": `"not-an-address" is not an e-mail address`}},
		{"carriers without tariffs, nobody to send to", Schedule{Report: "carriers", Period: "yesterday", Cron: "0 6 * * *"}, false, map[string]string{
			"reports[0].report": "list their files under report.carriers", "reports[0].to": "missing"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]string{}
			for _, p := range c.s.Problems("reports[0]", c.carriers) {
				got[p.Key] = p.Msg
			}
			if len(got) != len(c.want) {
				t.Errorf("problems %v", got)
			}
			for k, w := range c.want {
				if !strings.Contains(got[k], w) {
					t.Errorf("%s: %q, want one containing %q", k, got[k], w)
				}
			}
		})
	}
}
