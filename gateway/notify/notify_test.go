package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/mail"
	"callgate/gateway/mail/mailtest"
	"callgate/gateway/notify"
	"callgate/internal/testutil"
)

// receiver is a webhook receiver on loopback that checks each message's
// signature as docs/alarms.md tells a receiver to.
type receiver struct {
	t   *testing.T
	key []byte
	srv *httptest.Server

	mu     sync.Mutex
	got    []notify.Message
	bodies [][]byte
	fail   atomic.Bool // answer 500
	hits   atomic.Int32
	came   chan struct{}
}

func newReceiver(t *testing.T, key string) *receiver {
	r := &receiver{t: t, key: []byte(key), came: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if r.fail.Load() {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(req.Body)
		// The receiver's check: HMAC-SHA256 of the exact body, lower-case
		// hex after "sha256=".
		mac := hmac.New(sha256.New, r.key)
		mac.Write(body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.Header.Get(notify.SignatureHeader) != want {
			t.Errorf("signature %q, want %q", req.Header.Get(notify.SignatureHeader), want)
		}
		if !notify.Verify(r.key, body, req.Header.Get(notify.SignatureHeader)) || notify.Verify([]byte("other"), body, req.Header.Get(notify.SignatureHeader)) {
			t.Error("Verify disagrees with the receiver's own check")
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		r.mu.Lock()
		r.got = append(r.got, m)
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		select {
		case r.came <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) messages() []notify.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Message(nil), r.got...)
}

// await waits (bounded) until the receiver holds n messages.
func (r *receiver) await(ctx context.Context, n int) []notify.Message {
	r.t.Helper()
	for {
		if got := r.messages(); len(got) >= n {
			return got
		}
		select {
		case <-r.came:
		case <-ctx.Done():
			r.t.Fatalf("the receiver has %d messages, want %d: %+v", len(r.messages()), n, r.messages())
		}
	}
}

func secretFile(t *testing.T, key string) string {
	p := filepath.Join(t.TempDir(), "webhook.key")
	if err := os.WriteFile(p, []byte("  "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// intlRater prices numbers dialed with 011 as international calls, others
// as national, at 10 a second.
type intlRater struct{}

func (intlRater) Rate(c gateway.Call) (gateway.Charge, error) {
	ch := gateway.Charge{Class: "national", Destination: "Town", Currency: "USD", Chargeable: c.DurationS > 0}
	if strings.HasPrefix(c.Dialed, "011") {
		ch.Class, ch.Destination, ch.E164 = "international", "United Kingdom", c.Dialed[3:]
	}
	ch.TotalMinor = int64(c.DurationS) * 10
	return ch, nil
}

// TestAlarmsReachWebhookAndMail runs the engine over the fakes with the
// alarms delivered to a webhook receiver on loopback and an in-process
// SMTP server: the PMS link down past pms_down_minutes gives one pms-down
// raised, then one cleared when it comes back; five international calls
// within an hour from one extension with international_per_hour 3 give one
// fraud alarm naming the extension; every webhook message's signature
// verifies, and the mail server receives the same messages.
func TestAlarmsReachWebhookAndMail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clock := gatewaytest.NewClock(time.Time{})
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{Now: clock.Now})
	if _, err := j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "R101"}}); err != nil {
		t.Fatal(err)
	}
	pms := gatewaytest.NewPMSLink(clock)
	pms.SetState(gateway.LinkDown)
	e := &gateway.Engine{Source: gatewaytest.NewCallSource(clock), Parser: gatewaytest.Parser{}, Rater: intlRater{},
		Journal: j, Queries: j, PMS: pms, Rooms: gateway.RoomMap{Same: true},
		Alarms: gateway.AlarmOptions{PMSDown: time.Minute}, Fraud: gateway.FraudRules{InternationalPerHour: 3},
		MinorDigits: func(string) (int, bool) { return 2, true },
		Clock:       clock, Logger: zerolog.New(zerolog.NewTestWriter(t))}

	rcv := newReceiver(t, "k3y")
	ms := mailtest.Start(t, 0, true)
	n, err := notify.New(notify.Options{Site: "Harbour View", Clock: clock, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		Targets: []gateway.NotifyTarget{{Webhook: rcv.srv.URL + "/hook?x=1", SecretFile: secretFile(t, "k3y")}, {Email: []string{"night@hotel.test"}}},
		Mail:    &mail.Server{Host: ms.Host, Port: ms.Port, TLS: "starttls", TLSConfig: ms.TLSConfig()}, From: "callgate@hotel.test",
		SetAlarm: e.SetAlarm})
	if err != nil {
		t.Fatal(err)
	}
	e.OnAlarm = n.Alarm
	nctx, stopN := context.WithCancel(ctx)
	nDone := make(chan struct{})
	go func() { defer close(nDone); n.Run(nctx) }()
	runCtx, stopE := context.WithCancel(ctx)
	eDone := make(chan error, 1)
	go func() { eDone <- e.Run(runCtx) }()
	defer func() {
		stopE()
		<-eDone
		stopN()
		<-nDone
	}()

	// Down for two minutes: the link's next news raises pms-down (again
	// until the engine, starting, has seen the link down).
	for i := 0; i < 100 && len(rcv.messages()) == 0; i++ {
		clock.Advance(2 * time.Minute)
		pms.SetStatus(func(s *gateway.LinkStatus) { s.Err = "connection refused " + string(rune('a'+i%26)) })
		select {
		case <-rcv.came:
			rcv.came <- struct{}{}
		case <-time.After(50 * time.Millisecond):
		}
	}
	got := rcv.await(ctx, 1)
	if m := got[0]; m.Alarm != "pms-down" || m.State != "raised" || m.Site != "Harbour View" || !strings.Contains(m.Text, "PMS link") {
		t.Fatalf("first message %+v", m)
	}
	pms.SetState(gateway.LinkAlive)
	got = rcv.await(ctx, 2)
	if m := got[1]; m.Alarm != "pms-down" || m.State != "cleared" {
		t.Fatalf("second message %+v", m)
	}

	src := e.Source.(*gatewaytest.CallSource)
	for i := 0; i < 5; i++ {
		clock.Advance(5 * time.Minute)
		src.Line("out 101 011442079460" + string(rune('0'+i)) + "0 60")
	}
	// The fifth call's hit updates the standing alarm: then every call has
	// been checked.
	// (The alarm is updated after the call's commit: poll it, bounded.)
	testutil.WaitFor(t, 10*time.Second, "a fraud alarm counting 5 calls", func() bool {
		for _, a := range e.Status().Alarms {
			if a.Kind == gateway.AlarmFraud && a.Detail != nil && a.Detail.Count == 5 {
				return true
			}
		}
		return false
	})
	// A marker after it: the target sends in order, so a second fraud
	// message would come before it.
	e.SetAlarm(gateway.Alarm{Kind: "marker", Text: "end of test"}, true)
	got = rcv.await(ctx, 4)
	fraud := got[2]
	if fraud.Alarm != "fraud" || fraud.State != "raised" || fraud.AlarmDetail == nil || fraud.Extension != "101" ||
		fraud.Rule != gateway.RuleInternationalPerHour || fraud.Count != 4 || !strings.Contains(fraud.Text, "room 101 made 4 international calls") {
		t.Errorf("fraud message %+v (detail %+v)", fraud, fraud.AlarmDetail)
	}
	if len(fraud.Calls) != 4 || strings.Contains(string(rcv.bodies[2]), "0114420794600") {
		t.Errorf("the fraud message names %d calls, or a whole number: %s", len(fraud.Calls), rcv.bodies[2])
	}
	if got[3].Alarm != "marker" || len(got) != 4 {
		t.Errorf("messages after the fraud alarm: %+v", got[3:])
	}

	mails := ms.Wait(4, 10*time.Second)
	if len(mails) != 4 {
		t.Fatalf("%d mails, want 4", len(mails))
	}
	for i, want := range []string{"RAISED pms-down", "CLEARED pms-down", "RAISED fraud 101/international_per_hour", "RAISED marker"} {
		h, text, _ := readMail(t, mails[i])
		if !strings.Contains(h, want) || !strings.Contains(text, `"site": "Harbour View"`) {
			t.Errorf("mail %d: subject %q (want %q), text %q", i, h, want, text)
		}
	}
}

// readMail returns a plain-text mail's subject and text.
func readMail(t *testing.T, m mailtest.Mail) (string, string, error) {
	t.Helper()
	s := string(m.Data)
	subj := ""
	for _, line := range strings.Split(s, "\r\n") {
		if strings.HasPrefix(line, "Subject: ") {
			subj = strings.TrimPrefix(line, "Subject: ")
		}
	}
	return subj, strings.ReplaceAll(s, "=\r\n", ""), nil
}

// rig is a notifier alone, with a webhook receiver, on a fake clock.
type rig struct {
	ctx    context.Context
	clock  *gatewaytest.Clock
	n      *notify.Notifier
	rcv    *receiver
	mu     sync.Mutex
	alarms []string // notify-failed changes
}

func newRig(t *testing.T, remind time.Duration) *rig {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	r := &rig{ctx: ctx, clock: gatewaytest.NewClock(time.Time{}), rcv: newReceiver(t, "s")}
	var err error
	r.n, err = notify.New(notify.Options{Site: "S", Clock: r.clock, Remind: remind, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		RetryMin: time.Second, RetryMax: 4 * time.Second,
		Targets: []gateway.NotifyTarget{{Webhook: r.rcv.srv.URL, SecretFile: secretFile(t, "s")}},
		SetAlarm: func(a gateway.Alarm, raised bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			state := "cleared"
			if raised {
				state = "raised " + a.Text
			}
			r.alarms = append(r.alarms, string(a.Kind)+" "+a.Subject+" "+state)
		}})
	if err != nil {
		t.Fatal(err)
	}
	nctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.n.Run(nctx) }()
	t.Cleanup(func() { stop(); <-done })
	return r
}

// advance moves the clock on in steps until cond holds (bounded).
func (r *rig) advance(t *testing.T, step time.Duration, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		r.clock.Advance(step)
		select {
		case <-r.rcv.came:
		case <-time.After(20 * time.Millisecond): // lets the senders run; the condition decides
		case <-r.ctx.Done():
			t.Fatal("timed out")
		}
	}
	t.Fatal("the condition never held")
}

// TestFlappingIsSummarized: an alarm raised and cleared twenty times in a
// minute gives its first two messages, then one summary when the flap
// window allows, with the count of changes held back and the latest state.
func TestFlappingIsSummarized(t *testing.T) {
	r := newRig(t, time.Hour)
	for i := 0; i < 20; i++ {
		r.n.Alarm(gateway.Alarm{Kind: gateway.AlarmPMSDown, Text: "the PMS link is down"}, i%2 == 0)
	}
	got := r.rcv.await(r.ctx, 2)
	if got[0].State != "raised" || got[1].State != "cleared" {
		t.Fatalf("messages %+v", got)
	}
	r.advance(t, 30*time.Second, func() bool { return len(r.rcv.messages()) >= 3 })
	got = r.rcv.messages()
	if len(got) != 3 || got[2].Changes != 18 || got[2].State != "cleared" || !strings.Contains(got[2].Text, "18 more times") {
		t.Fatalf("summary %+v", got[2:])
	}
	if d := r.clock.Now().Sub(gatewaytest.NewClock(time.Time{}).Now()); d < notify.FlapWindow {
		t.Errorf("the summary came %s after the flapping, before the window of %s", d, notify.FlapWindow)
	}
}

// TestReminders: a standing alarm is sent again every remind interval,
// marked as a reminder; once cleared, no more.
func TestReminders(t *testing.T) {
	r := newRig(t, 5*time.Minute)
	r.n.Alarm(gateway.Alarm{Kind: gateway.AlarmInDoubt, Text: "2 postings in doubt"}, true)
	r.rcv.await(r.ctx, 1)
	r.advance(t, 30*time.Second, func() bool { return len(r.rcv.messages()) >= 3 })
	got := r.rcv.messages()
	if got[0].Reminder || !got[1].Reminder || !got[2].Reminder || got[1].State != "raised" {
		t.Fatalf("messages %+v", got)
	}
	r.n.Alarm(gateway.Alarm{Kind: gateway.AlarmInDoubt, Text: "2 postings in doubt"}, false)
	got = r.rcv.await(r.ctx, 4)
	if got[3].State != "cleared" {
		t.Fatalf("messages %+v", got)
	}
	// A quarter of an hour on, then a marker: nothing came between.
	r.clock.Advance(15 * time.Minute)
	r.n.Alarm(gateway.Alarm{Kind: "marker"}, true)
	got = r.rcv.await(r.ctx, 5)
	if got[4].Alarm != "marker" || len(got) != 5 {
		t.Fatalf("after the clear: %+v", got[4:])
	}
}

// TestFailingTargetBecomesAnAlarm: a webhook that keeps failing is retried
// with back-off, raises notify-failed naming the target after three
// failures, gets the message once it answers, and the alarm clears.
func TestFailingTargetBecomesAnAlarm(t *testing.T) {
	r := newRig(t, time.Hour)
	r.rcv.fail.Store(true)
	r.n.Alarm(gateway.Alarm{Kind: gateway.AlarmPBXSilent, Text: "no PBX data"}, true)
	alarms := func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return append([]string(nil), r.alarms...)
	}
	r.advance(t, time.Second, func() bool { return len(alarms()) > 0 })
	if a := alarms()[0]; !strings.HasPrefix(a, "notify-failed webhook http://127.0.0.1:") || !strings.Contains(a, "500") {
		t.Errorf("alarm %q", a)
	}
	if h := r.rcv.hits.Load(); h != 3 {
		t.Errorf("%d attempts before the alarm, want 3", h)
	}
	r.rcv.fail.Store(false)
	r.advance(t, time.Second, func() bool { return len(r.rcv.messages()) > 0 && len(alarms()) > 1 })
	if m := r.rcv.messages()[0]; m.Alarm != "pbx-silent" || m.State != "raised" {
		t.Errorf("delivered %+v", m)
	}
	if a := alarms(); len(a) != 2 || !strings.HasSuffix(a[1], " cleared") {
		t.Errorf("alarms %q", a)
	}
}

func TestTestAlarmSaysWhichFailed(t *testing.T) {
	rcv := newReceiver(t, "s")
	n, err := notify.New(notify.Options{Site: "S", Logger: zerolog.Nop(), Targets: []gateway.NotifyTarget{
		{Webhook: rcv.srv.URL, SecretFile: secretFile(t, "s")},
		{Webhook: "http://127.0.0.1:1/closed?token=SECRETQ", SecretFile: secretFile(t, "s")}}})
	if err != nil {
		t.Fatal(err)
	}
	res := n.Test(context.Background())
	if len(res) != 2 || res[0].Err != nil || res[1].Err == nil || !strings.Contains(res[1].Target, "127.0.0.1:1/closed") {
		t.Fatalf("results %+v", res)
	}
	if m := rcv.messages(); len(m) != 1 || m[0].Alarm != "test" {
		t.Errorf("received %+v", m)
	}
	// A webhook's query may hold its secret: no error, log or alarm text
	// quotes it (net/http's own error quotes the whole URL).
	if strings.Contains(res[1].Err.Error(), "SECRETQ") || strings.Contains(res[1].Target, "SECRETQ") {
		t.Errorf("the failure quotes the webhook's secret query: %v (%s)", res[1].Err, res[1].Target)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	for _, tc := range []struct {
		target gateway.NotifyTarget
		want   string
	}{
		{gateway.NotifyTarget{Webhook: "http://x", SecretFile: empty}, "is empty"},
		{gateway.NotifyTarget{Webhook: "http://x", SecretFile: filepath.Join(t.TempDir(), "none")}, "cannot be read"},
		{gateway.NotifyTarget{Webhook: "http://x", SecretFile: t.TempDir()}, "not a key file"},
		{gateway.NotifyTarget{Email: []string{"a@b"}}, "smtp"},
	} {
		_, err := notify.New(notify.Options{Targets: []gateway.NotifyTarget{tc.target}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.target, err, tc.want)
		}
	}
}

// FuzzVerify: a receiver's check never panics on a header or body from
// outside, and takes only the signature Sign makes.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("k"), []byte(`{"alarm":"test"}`), "sha256=00")
	f.Add([]byte("key"), []byte{}, "")
	f.Add([]byte("key"), []byte("x"), "sha256=zz")
	f.Fuzz(func(t *testing.T, key, body []byte, sig string) {
		if notify.Verify(key, body, sig) && strings.TrimPrefix(strings.TrimSpace(sig), "sha256=") != strings.TrimPrefix(notify.Sign(key, body), "sha256=") &&
			!strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="), strings.TrimPrefix(notify.Sign(key, body), "sha256=")) {
			t.Fatalf("Verify took %q for %q", sig, body)
		}
		if !notify.Verify(key, body, notify.Sign(key, body)) {
			t.Fatal("Verify refused Sign's signature")
		}
	})
}
