// Package notify delivers the engine's alarms to people: by e-mail through
// the config's smtp server and by signed webhook (docs/alarms.md). It reads
// the engine's one list of alarms through OnAlarm; a target that keeps
// failing becomes an alarm of its own in that list (notify-failed).
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/mail"
	"callgate/internal/backoff"
)

// SignatureHeader carries the webhook body's signature: "sha256=" and the
// lower-case hex HMAC-SHA256 of the exact body under the target's key.
const SignatureHeader = "X-Callgate-Signature"

// FlapWindow and FlapMessages bound the messages of one alarm: at most
// FlapMessages within FlapWindow; changes past them are summed up in one
// message when the window allows again (docs/alarms.md "Flapping").
const (
	FlapWindow   = 10 * time.Minute
	FlapMessages = 2
)

// queueMax bounds each target's queue of messages; past it the oldest is
// dropped (and logged).
const queueMax = 256

// failAfter is how many failed attempts in a row make a target's
// notify-failed alarm.
const failAfter = 3

// Message is the JSON body of an alarm message (docs/alarms.md "The
// message"). The details of the alarm follow the fixed keys.
type Message struct {
	Alarm    string `json:"alarm"`
	State    string `json:"state"` // raised | cleared
	Site     string `json:"site"`
	At       string `json:"at"`    // RFC 3339, UTC
	Local    string `json:"local"` // the site's wall clock, 2006-01-02T15:04:05
	Since    string `json:"since,omitempty"`
	Text     string `json:"text"`
	Subject  string `json:"subject,omitempty"`
	Reminder bool   `json:"reminder,omitempty"`
	// Changes is how many times the alarm was raised or cleared since the
	// last message, when it flapped (the state is the latest).
	Changes int `json:"changes,omitempty"`
	*gateway.AlarmDetail
}

// Options configure a Notifier.
type Options struct {
	Site     string
	Location *time.Location // the site's zone, for Message.Local
	Targets  []gateway.NotifyTarget
	// Resolve makes a secret_file path absolute (relative to the config).
	Resolve func(string) string
	Mail    *mail.Server // for e-mail targets
	From    string       // the sender address
	Remind  time.Duration
	// SetAlarm raises and clears a target's notify-failed alarm in the
	// engine's alarm list.
	SetAlarm func(a gateway.Alarm, raised bool)
	Clock    gateway.Clock
	Logger   zerolog.Logger
	// Client is the webhook's HTTP client (default: 15 s timeout).
	Client *http.Client
	// RetryMin and RetryMax bound the back-off between attempts (default
	// 5 s and 5 min).
	RetryMin, RetryMax time.Duration
}

// Notifier sends each alarm's changes to every target.
type Notifier struct {
	o       Options
	targets []*target

	mu      sync.Mutex
	alarms  map[string]*tracked
	changed chan struct{}
}

// tracked is what the notifier knows of one alarm.
type tracked struct {
	alarm    gateway.Alarm
	raised   bool
	sent     string      // the state last sent, "" for none
	sentAt   []time.Time // the messages within FlapWindow
	lastMsg  time.Time
	held     int // changes held back since the last message
	lastSeen time.Time
}

// target is one place messages go, with its queue and sender.
type target struct {
	n      *Notifier
	cfg    gateway.NotifyTarget
	name   string
	secret []byte

	mu      sync.Mutex
	queue   []Message
	dropped int
	// headDrops counts the heads a full queue dropped, so that the sender
	// knows whether the head it sent is still the queue's first.
	headDrops uint64
	wake      chan struct{}
}

// New checks the targets and reads the webhooks' keys.
func New(o Options) (*Notifier, error) {
	if o.Clock == nil {
		o.Clock = gateway.RealClock{}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Remind <= 0 {
		o.Remind = time.Hour
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 5 * time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Minute, o.RetryMin)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if o.Resolve == nil {
		o.Resolve = func(p string) string { return p }
	}
	n := &Notifier{o: o, alarms: map[string]*tracked{}, changed: make(chan struct{}, 1)}
	for i, c := range o.Targets {
		t := &target{n: n, cfg: c, name: c.Name(), wake: make(chan struct{}, 1)}
		if c.Webhook != "" {
			key, err := ReadSecret(o.Resolve(c.SecretFile))
			if err != nil {
				return nil, fmt.Errorf("alarms.notify[%d].secret_file: %w", i, err)
			}
			t.secret = key
		} else if o.Mail == nil || o.From == "" {
			return nil, fmt.Errorf("alarms.notify[%d] sends e-mail: give the mail server in the smtp: section", i)
		}
		n.targets = append(n.targets, t)
	}
	return n, nil
}

// ReadSecret reads a webhook's signing key: the file's content, trimmed of
// spaces and line ends; an empty key is refused.
func ReadSecret(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the webhook's key file cannot be read: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() > 64<<10 {
		return nil, fmt.Errorf("%s is not a key file (a regular file of at most 64 KiB)", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the webhook's key file cannot be read: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty: put the webhook's signing key in it (e.g. openssl rand -hex 32 > %s)", path, path)
	}
	return b, nil
}

// Sign returns the value of SignatureHeader for body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig (with or without "sha256=") is body's
// signature under key: what a receiver does, in constant time.
func Verify(key, body []byte, sig string) bool {
	want, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}

// Alarm takes one of the engine's alarm changes (Engine.OnAlarm). It never
// blocks: the message is queued, or held back when the alarm flaps.
func (n *Notifier) Alarm(a gateway.Alarm, raised bool) {
	now := n.o.Clock.Now()
	n.mu.Lock()
	k := a.Key()
	t := n.alarms[k]
	if t == nil {
		t = &tracked{}
		n.alarms[k] = t
	}
	t.alarm, t.raised, t.lastSeen = a, raised, now
	t.prune(now)
	if len(t.sentAt) < FlapMessages {
		n.emit(t, now, false)
	} else {
		t.held++
	}
	n.mu.Unlock()
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

func (t *tracked) prune(now time.Time) {
	i := 0
	for i < len(t.sentAt) && now.Sub(t.sentAt[i]) >= FlapWindow {
		i++
	}
	t.sentAt = t.sentAt[i:]
}

func (t *tracked) state() string {
	if t.raised {
		return "raised"
	}
	return "cleared"
}

// emit queues t's current state on every target. The caller holds n.mu.
func (n *Notifier) emit(t *tracked, now time.Time, reminder bool) {
	m := n.message(t.alarm, t.state(), now)
	m.Reminder = reminder
	if t.held > 0 {
		m.Changes = t.held
		m.Text = fmt.Sprintf("%s was raised or cleared %d more times since the last message (flapping); it is now %s: %s",
			t.alarm.Kind, t.held, t.state(), m.Text)
	}
	t.sent, t.lastMsg, t.held = t.state(), now, 0
	if !reminder { // reminders do not count against the flap window
		t.sentAt = append(t.sentAt, now)
	}
	for _, tg := range n.targets {
		tg.push(m)
	}
}

// message builds the body of an alarm's message.
func (n *Notifier) message(a gateway.Alarm, state string, now time.Time) Message {
	m := Message{Alarm: string(a.Kind), State: state, Site: n.o.Site, At: now.UTC().Format(time.RFC3339),
		Local: now.In(n.o.Location).Format(gateway.WallClockLayout), Text: a.Text, Subject: a.Subject, AlarmDetail: a.Detail}
	if !a.Since.IsZero() {
		m.Since = a.Since.UTC().Format(time.RFC3339)
	}
	if state == "cleared" {
		m.Text = "cleared: " + a.Text
	}
	return m
}

// tick sends what the flap window held back, the reminders of standing
// alarms, and forgets alarms cleared and sent a window ago.
func (n *Notifier) tick(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	keys := make([]string, 0, len(n.alarms))
	for k := range n.alarms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := n.alarms[k]
		t.prune(now)
		switch {
		case t.held > 0 && len(t.sentAt) < FlapMessages:
			n.emit(t, now, false) // the summary of the changes held back
		case t.raised && t.held == 0 && now.Sub(t.lastMsg) >= n.o.Remind:
			n.emit(t, now, true)
		case !t.raised && t.held == 0 && len(t.sentAt) == 0:
			delete(n.alarms, k)
		}
	}
}

// Run sends messages until ctx ends: one sender per target, and the tick
// of flap summaries and reminders every 30 seconds.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range n.targets {
		wg.Add(1)
		go func() { defer wg.Done(); t.run(ctx) }()
	}
	tk := n.o.Clock.NewTicker(30 * time.Second)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case now := <-tk.C():
			n.tick(now)
		}
	}
}

// push queues m, dropping the oldest past queueMax.
func (t *target) push(m Message) {
	t.mu.Lock()
	if len(t.queue) >= queueMax {
		t.queue = t.queue[1:]
		t.dropped++
		t.headDrops++ // the message being sent, if any, left the queue
	}
	t.queue = append(t.queue, m)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run sends the target's queue in order, each message until it is taken,
// waiting by a capped back-off between attempts; after failAfter failures
// in a row the target's notify-failed alarm is raised, and cleared by the
// next success.
func (t *target) run(ctx context.Context) {
	n := t.n
	b := backoff.New(n.o.RetryMin, n.o.RetryMax)
	fails := 0
	alarmUp := false
	for {
		t.mu.Lock()
		var m *Message
		if len(t.queue) > 0 {
			m = &t.queue[0]
		}
		gen := t.headDrops
		dropped := t.dropped
		t.dropped = 0
		t.mu.Unlock()
		if dropped > 0 {
			n.o.Logger.Warn().Str("target", t.name).Int("dropped", dropped).Msg("alarm messages dropped: the target's queue was full while it failed")
		}
		if m == nil {
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
				continue
			}
		}
		err := t.send(ctx, *m)
		if err == nil {
			t.mu.Lock()
			// The message sent is the head, unless a full queue dropped
			// it meanwhile: then the head is the next, still to send.
			if len(t.queue) > 0 && t.headDrops == gen {
				t.queue = t.queue[1:]
			}
			t.mu.Unlock()
			b.Reset()
			fails = 0
			if alarmUp {
				alarmUp = false
				n.setAlarm(gateway.Alarm{Kind: gateway.AlarmNotifyFailed, Subject: t.name}, false)
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		fails++
		n.o.Logger.Warn().Str("target", t.name).Str("alarm", m.Alarm).Int("attempt", fails).Msg(err.Error())
		if fails >= failAfter && !alarmUp {
			alarmUp = true
			n.setAlarm(gateway.Alarm{Kind: gateway.AlarmNotifyFailed, Subject: t.name,
				Text:   fmt.Sprintf("alarms cannot be delivered to %s (%d attempts failed): %v; check the address and the receiver", t.name, fails, err),
				Detail: &gateway.AlarmDetail{Target: t.name, Error: err.Error(), Count: fails}}, true)
		}
		select {
		case <-ctx.Done():
			return
		case <-n.o.Clock.After(b.Next()):
		}
	}
}

func (n *Notifier) setAlarm(a gateway.Alarm, raised bool) {
	if n.o.SetAlarm != nil {
		n.o.SetAlarm(a, raised)
	}
}

// send makes one attempt to deliver m to the target.
func (t *target) send(ctx context.Context, m Message) error {
	body, err := gateway.MarshalPlain(m)
	if err != nil {
		return err
	}
	if t.cfg.Webhook != "" {
		return t.post(ctx, body, m.Alarm)
	}
	return t.mail(ctx, m, body)
}

func (t *target) post(ctx context.Context, body []byte, kind string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callgate")
	req.Header.Set("X-Callgate-Alarm", kind)
	req.Header.Set(SignatureHeader, Sign(t.secret, body))
	resp, err := t.n.o.Client.Do(req)
	if err != nil {
		// net/http's error quotes the whole URL, and a webhook's query or
		// path may hold its secret: keep only the cause after the name
		// (t.name drops the query and any login).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", t.name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", t.name, resp.Status)
	}
	return nil
}

func (t *target) mail(ctx context.Context, m Message, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	subject := fmt.Sprintf("[callgate %s] %s %s", m.Site, strings.ToUpper(m.State), m.Alarm)
	if m.Subject != "" {
		subject += " " + m.Subject
	}
	if m.Reminder {
		subject += " (reminder)"
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\nSite: %s\nAlarm: %s\nState: %s\nAt: %s (%s UTC)\n", m.Text, m.Site, m.Alarm, m.State, m.Local, m.At)
	if m.Since != "" {
		fmt.Fprintf(&text, "Since: %s\n", m.Since)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, body, "", "  ")
	fmt.Fprintf(&text, "\nThe message as JSON:\n%s\n", pretty.String())
	return t.n.o.Mail.Send(ctx, mail.Message{From: t.n.o.From, To: t.cfg.Email, Subject: subject, Body: text.String()})
}

// Result is one target's answer to a test alarm.
type Result struct {
	Target string
	Err    error
}

// Test sends one test alarm to every target, one attempt each, and says
// how each went (`gateway alarms test`).
func (n *Notifier) Test(ctx context.Context) []Result {
	now := n.o.Clock.Now()
	m := n.message(gateway.Alarm{Kind: "test", Since: now,
		Text: "a test alarm from callgate at " + n.o.Site + ": alarms reach this target"}, "raised", now)
	var out []Result
	for _, t := range n.targets {
		out = append(out, Result{Target: t.name, Err: t.send(ctx, m)})
	}
	return out
}
