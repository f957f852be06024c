package apaleo_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/pms/apaleo/sim"

	"github.com/rs/zerolog"
)

// TestChargeOnTheFolio: the charge apaleo books carries the amount (exact
// decimal), the service and VAT types, the class's sub-account, a name
// with the destination, digits and duration, and the reference as the
// receipt and the key; the resolved folio is the room's guest folio.
func TestChargeOnTheFolio(t *testing.T) {
	s := startSim(t, sim.Options{Currency: "KWD"})
	if err := s.CheckIn("204", "ABCD-1", "Smith"); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(s)
	o.Config.Charge = apaleo.ChargeConfig{ServiceType: "Other", VatType: "Without", SubAccounts: map[string]string{"international": "MUC-TEL-INT"}}
	o.MinorDigits = func(c string) (int, bool) { return map[string]int{"KWD": 3}[c], c == "KWD" }
	l := openLink(t, o)
	awaitResync(t, l)
	p := posting(7, "204")
	p.Currency, p.AmountMinor = "KWD", 1205 // 1.205 KWD
	res, err := l.Post(testCtx(t, 10*time.Second), p)
	if res.Outcome != gateway.PostPosted || res.Answer != "201" || err != nil {
		t.Fatalf("%+v %v", res, err)
	}
	led := s.Ledger()
	want := sim.Charge{ID: led[0].ID, FolioID: "ABCD-1-1", Reservation: "ABCD-1", Room: "204", Key: "MUC-1-7",
		ServiceType: "Other", VatType: "Without", SubAccountID: "MUC-TEL-INT", Name: "Telephone United Kingdom 00441632960123 2:10",
		Receipt: "MUC-1-7", AmountMinor: 1205, Currency: "KWD", Quantity: 1, At: led[0].At}
	if len(led) != 1 || led[0] != want {
		t.Errorf("ledger %+v\nwant %+v", led, want)
	}
}

// TestClassMissingFromSubAccounts: with pms.charge.sub_accounts given, a
// call of a class missing from it is invalid, the error naming the key to
// add; nothing is sent.
func TestClassMissingFromSubAccounts(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.Config.Charge.SubAccounts = map[string]string{"national": "MUC-TEL-NAT"}
	l := openLink(t, o)
	awaitResync(t, l)
	res, err := l.Post(testCtx(t, 10*time.Second), posting(1, "101"))
	if res.Outcome != gateway.PostInvalid || res.Sent || !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "pms.charge.sub_accounts.international") {
		t.Errorf("%+v %v", res, err)
	}
	if n := s.ChargeRequests(); n != 0 {
		t.Errorf("%d charge requests", n)
	}
}

// TestVacant: a room with no in-house reservation — never checked in, or
// checked out between the call and its posting, before the link's poll
// noticed — is PostVacant, nothing sent.
func TestVacant(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.PollInterval = time.Hour // only the posting's own reading sees the check-out
	l := openLink(t, o)
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	res, err := l.Post(ctx, posting(1, "102"))
	if res.Outcome != gateway.PostVacant || res.Sent || !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("never occupied: %+v %v", res, err)
	}
	if err := s.CheckOut("SIM0001-1"); err != nil {
		t.Fatal(err)
	}
	res, err = l.Post(ctx, posting(2, "101"))
	if res.Outcome != gateway.PostVacant || res.Sent {
		t.Errorf("checked out: %+v %v", res, err)
	}
	if n := s.ChargeRequests(); n != 0 {
		t.Errorf("%d charge requests", n)
	}
}

// TestGuestEventsFromPolls: check-in, a room move (change with OldRoom),
// a second guest sharing the room, and check-out, found by polling.
func TestGuestEventsFromPolls(t *testing.T) {
	s := startSim(t, sim.Options{})
	l := openLink(t, fastOptions(s))
	if ins := awaitResync(t, l); len(ins) != 0 {
		t.Errorf("resync of an empty house: %+v", ins)
	}
	if err := s.CheckIn("101", "R1", "Smith"); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, l, gateway.GuestCheckIn)
	if ev.Guest.Room != "101" || ev.Guest.Reservation != "R1" || ev.Guest.LastName != "Smith" || ev.Resync || ev.Guest.Arrival.IsZero() {
		t.Errorf("check-in %+v", ev)
	}
	if err := s.Move("R1", "102"); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, l, gateway.GuestChange)
	if ev.Guest.Room != "102" || ev.OldRoom != "101" {
		t.Errorf("move %+v", ev)
	}
	if err := s.CheckIn("102", "R2", "Jones"); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < 2; {
		select {
		case ev := <-l.GuestEvents():
			switch {
			case ev.Kind == gateway.GuestChange && ev.Guest.Reservation == "R1" && ev.Guest.Shared,
				ev.Kind == gateway.GuestCheckIn && ev.Guest.Reservation == "R2" && ev.Guest.Shared:
				got++
			default:
				t.Errorf("sharing: %+v", ev)
			}
		case <-testCtx(t, 10*time.Second).Done():
			t.Fatal("no events for the shared room")
		}
	}
	if err := s.CheckOut("R2"); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, l, gateway.GuestCheckOut)
	if ev.Guest.Reservation != "R2" || ev.Guest.Room != "102" {
		t.Errorf("check-out %+v", ev)
	}
}

// TestBadCredentials: the identity server refuses the client: the link is
// down, naming the keys to check; postings are not sent.
func TestBadCredentials(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.ClientSecret = "wrong"
	l := openLink(t, o)
	ctx := testCtx(t, 10*time.Second)
	for st := l.Status(); st.State != gateway.LinkDown; st = l.Status() {
		select {
		case <-l.StatusChanges():
		case <-ctx.Done():
			t.Fatalf("never down: %+v", st)
		}
	}
	if st := l.Status(); !strings.Contains(st.Err, "invalid_client") || !strings.Contains(st.Err, "pms.auth.client_id") {
		t.Errorf("status %+v", st)
	}
	res, err := l.Post(ctx, posting(1, "101"))
	if res.Outcome != gateway.PostTransient || res.Sent {
		t.Errorf("%+v %v", res, err)
	}
}

// TestUnreachable: nothing listens at the API's address: the link is down
// and comes up when the API is there.
func TestUnreachable(t *testing.T) {
	s := startSim(t, sim.Options{})
	o := fastOptions(s)
	o.Config.BaseURL, o.Config.Auth.TokenURL = "http://127.0.0.1:1", "http://127.0.0.1:1/connect/token"
	l := openLink(t, o)
	ctx := testCtx(t, 10*time.Second)
	for st := l.Status(); st.State != gateway.LinkDown; st = l.Status() {
		select {
		case <-l.StatusChanges():
		case <-ctx.Done():
			t.Fatalf("never down: %+v", st)
		}
	}
	if st := l.Status(); !strings.Contains(st.Err, "127.0.0.1:1") {
		t.Errorf("status %+v", st)
	}
}

// TestTokenReusedAndRenewed: one token serves many requests; an expired
// one (401) is renewed once and the request goes through.
func TestTokenReusedAndRenewed(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	l := openLink(t, fastOptions(s))
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	for i := uint32(1); i <= 5; i++ {
		if res, err := l.Post(ctx, posting(i, "101")); res.Outcome != gateway.PostPosted {
			t.Fatalf("%+v %v", res, err)
		}
	}
	if n := s.TokensIssued(); n != 1 {
		t.Errorf("%d tokens for 5 postings and the polls", n)
	}
	s.ExpireTokens()
	if res, err := l.Post(ctx, posting(6, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("after expiry: %+v %v", res, err)
	}
	if n := s.TokensIssued(); n != 2 {
		t.Errorf("%d tokens after one expiry", n)
	}
}

// TestClientSideRate: at a client-side rate under the API's limit, no
// request is answered 429; without it (a rate far above), some are.
func TestClientSideRate(t *testing.T) {
	for _, tc := range []struct {
		rate    int
		limited bool
	}{{40, false}, {100000, true}} {
		s := startSim(t, sim.Options{Occupied: []string{"101"}, RequestsPerS: 100})
		o := fastOptions(s)
		o.Config.RequestsPerS = tc.rate
		o.PollInterval = time.Hour
		l := openLink(t, o)
		awaitResync(t, l)
		ctx := testCtx(t, 30*time.Second)
		d := &driver{l: l}
		for i := uint32(1); i <= 40; i++ {
			d.post(t, ctx, posting(i, "101"))
		}
		if got := s.Limited() > 0; got != tc.limited {
			t.Errorf("at %d requests/s: %d answered 429", tc.rate, s.Limited())
		}
	}
}

// TestNoSecretInTheLog: neither the client secret nor the access token
// appears in the log at any level, nor the full dialed number above
// debug.
func TestNoSecretInTheLog(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel} {
		var buf lockedBuffer
		s := startSim(t, sim.Options{Occupied: []string{"101"}, ClientSecret: "s3cr3t-Value", Logger: zerolog.New(&buf).Level(level)})
		t.Cleanup(func() { _ = s.Close() }) // before the buffer is read
		o := fastOptions(s)
		o.ClientSecret = "s3cr3t-Value"
		o.Logger = zerolog.New(&buf).Level(level)
		l := openLink(t, o)
		awaitResync(t, l)
		ctx := testCtx(t, 10*time.Second)
		s.SetFaults(sim.Faults{LoseEvery: 2})
		for i := uint32(1); i <= 4; i++ {
			_, _ = l.Post(ctx, posting(i, "101"))
		}
		s.SetFaults(sim.Faults{Status: 422, Messages: []string{"no"}})
		_, _ = l.Post(ctx, posting(9, "101"))
		_ = l.Close()
		out := buf.String()
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "Bearer ") {
			t.Errorf("%v: the secret or a token is in the log:\n%s", level, out)
		}
		if level > zerolog.DebugLevel && strings.Contains(out, "1632960123") {
			t.Errorf("%v: the dialed number is in the log:\n%s", level, out)
		}
		if !strings.Contains(out, "apaleo") {
			t.Errorf("%v: nothing logged", level)
		}
	}
}

// TestConfig: the defaults, the checks under pms.…, the secret read
// trimmed from its file or from the environment.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "apaleo.secret")
	if err := os.WriteFile(secret, []byte("  top-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := apaleo.DefaultConfig()
	good.Property, good.Auth.ClientID, good.Auth.ClientSecretFile = "MUC", "callgate", secret
	var k gateway.Checker
	good.Check(&k)
	if len(k.Problems) != 0 {
		t.Errorf("good config: %v", k.Problems)
	}
	if s, err := good.Secret(); s != "top-secret" || err != nil {
		t.Errorf("secret %q %v", s, err)
	}
	if good.PollS != 60 || good.AnswerTimeoutS != 30 || good.RequestsPerS != 5 || good.BaseURL != "https://api.apaleo.com" ||
		good.Auth.TokenURL != "https://identity.apaleo.com/connect/token" || good.Charge.ServiceType != "Other" || good.Charge.VatType != "Normal" {
		t.Errorf("defaults %+v", good)
	}
	// Open reads the secret from the config when the options give none;
	// without one it refuses, naming the keys.
	noSecret := good
	noSecret.Auth.ClientSecretFile = filepath.Join(dir, "none")
	if _, err := apaleo.Open(apaleo.Options{Config: noSecret}); !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "client secret") {
		t.Errorf("open without a secret: %v", err)
	}
	t.Setenv(apaleo.SecretEnv, "from-env\n")
	env := good
	env.Auth.ClientSecretFile = ""
	if s, err := env.Secret(); s != "from-env" || err != nil {
		t.Errorf("secret from the environment %q %v", s, err)
	}
	for _, tc := range []struct {
		key  string
		edit func(c *apaleo.Config)
	}{
		{"pms.property", func(c *apaleo.Config) { c.Property = "" }},
		{"pms.property", func(c *apaleo.Config) { c.Property = "M U C" }},
		{"pms.base_url", func(c *apaleo.Config) { c.BaseURL = "ftp://x" }},
		{"pms.base_url", func(c *apaleo.Config) { c.BaseURL = "http://api.apaleo.com" }},
		{"pms.auth.token_url", func(c *apaleo.Config) { c.Auth.TokenURL = "" }},
		{"pms.auth.client_id", func(c *apaleo.Config) { c.Auth.ClientID = "" }},
		{"pms.auth.client_secret_file", func(c *apaleo.Config) { c.Auth.ClientSecretFile = filepath.Join(dir, "none") }},
		{"pms.charge.service_type", func(c *apaleo.Config) { c.Charge.ServiceType = "Phone" }},
		{"pms.charge.vat_type", func(c *apaleo.Config) { c.Charge.VatType = "" }},
		{"pms.charge.sub_accounts.mobile", func(c *apaleo.Config) { c.Charge.SubAccounts = map[string]string{"mobile": " "} }},
		{"pms.poll_s", func(c *apaleo.Config) { c.PollS = 1 }},
		{"pms.answer_timeout_s", func(c *apaleo.Config) { c.AnswerTimeoutS = 0 }},
		{"pms.requests_per_s", func(c *apaleo.Config) { c.RequestsPerS = 0 }},
	} {
		c := good
		tc.edit(&c)
		var k gateway.Checker
		c.Check(&k)
		if len(k.Problems) != 1 || k.Problems[0].Key != tc.key {
			t.Errorf("%s: %v", tc.key, k.Problems)
		}
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	c := good
	c.Auth.ClientSecretFile = empty
	if _, err := c.Secret(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty secret file: %v", err)
	}
}

// lockedBuffer is a buffer several loggers write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRateLimitedPollStaysAlive: a reading of the house answered 429 does
// not take the link down (apaleo answered); the resync is done after the
// wait.
func TestRateLimitedPollStaysAlive(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.PollInterval = time.Hour
	l := openLink(t, o)
	awaitResync(t, l)
	s.SetFaults(sim.Faults{TooMany: 1})
	if err := l.Resync(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if ins := awaitResync(t, l); len(ins) != 1 || ins[0].Guest.Room != "101" {
		t.Errorf("resync %+v", ins)
	}
	if st := l.Status(); st.State != gateway.LinkAlive || st.Err != "" || s.Limited() != 1 {
		t.Errorf("status %+v after %d answers 429", st, s.Limited())
	}
}

// TestTokenRenewedBeforeExpiry: the token is renewed shortly before it
// expires (a tenth of its life, at most a minute), so no request meets a
// 401.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}, TokenLifetime: time.Hour})
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	o := fastOptions(s)
	o.PollInterval = time.Hour
	o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	l := openLink(t, o)
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	advance(58 * time.Minute) // before the renewal point (59 min)
	if res, err := l.Post(ctx, posting(1, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", res, err)
	}
	if n := s.TokensIssued(); n != 1 {
		t.Errorf("%d tokens at 58 minutes", n)
	}
	advance(90 * time.Second) // past 59 min: renewed before the request
	if res, err := l.Post(ctx, posting(2, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", res, err)
	}
	if n, u := s.TokensIssued(), s.Unauthorized(); n != 2 || u != 0 {
		t.Errorf("%d tokens, %d answers 401", n, u)
	}
}

// TestRoomRenamed: a unit learnt for a room that now carries another name
// does not make the room look vacant: the whole house is asked.
func TestRoomRenamed(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101", "102"}})
	o := fastOptions(s)
	o.PollInterval = time.Hour
	l := openLink(t, o)
	awaitResync(t, l) // units MUC-U101 and MUC-U102 learnt
	// The hotel renames its units: 101 becomes 201, 102 becomes 101.
	for _, mv := range [][2]string{{"101", "201"}, {"102", "101"}} {
		if err := s.RenameUnit(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testCtx(t, 10*time.Second)
	if res, err := l.Post(ctx, posting(1, "101")); res.Outcome != gateway.PostPosted {
		t.Fatalf("%+v %v", res, err)
	}
	if led := s.Ledger(); len(led) != 1 || led[0].Reservation != "SIM0002-1" || led[0].Room != "101" {
		t.Errorf("ledger %+v", led)
	}
}

// TestResyncAskedDuringAPoll: a resync asked for while a reading runs
// (here held, then failing) keeps the status's resync flag until its own
// reading was answered: postings wait for it. (The window the link's
// pending flag closes — between the running reading's end and the
// resync's start — is too short for a sampling test to catch reliably;
// this test catches any longer drop.)
func TestResyncAskedDuringAPoll(t *testing.T) {
	s := startSim(t, sim.Options{Occupied: []string{"101"}})
	o := fastOptions(s)
	o.AnswerTimeout = 300 * time.Millisecond
	l := openLink(t, o)
	awaitResync(t, l)
	ctx := testCtx(t, 10*time.Second)
	s.SetFaults(sim.Faults{HoldListings: true})
	n := s.Listings()
	if err := s.WaitFor(ctx, func() bool { return s.Listings() > n }); err != nil {
		t.Fatal("no reading held")
	}
	if err := l.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	held := s.Listings()
	s.SetFaults(sim.Faults{}) // the held reading fails at its timeout; the resync follows
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-l.GuestEvents():
			if ev.Kind == gateway.ResyncStart {
				return
			}
		case <-tick.C:
			// The flag may drop once the resync's own reading was
			// answered (its events may still be on their way), not before.
			if st := l.Status(); !st.Resync && s.Listings() == held {
				t.Fatalf("the resync flag dropped before the resync's reading: %+v", st)
			}
		case <-ctx.Done():
			t.Fatal("no resync")
		}
	}
}
