package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// The pms section is read by pms.protocol (pms.go). A test-only cloud
// protocol, registered as an adapter's file in cmd registers one, proves
// the dispatch beside fias.

// testCloudConfig is the pms section of the test-only protocol, shaped as
// the cloud adapters' configs are.
type testCloudConfig struct {
	Protocol string `yaml:"protocol"`
	BaseURL  string `yaml:"base_url"`
	Property string `yaml:"property"`
	Auth     struct {
		ClientID         string `yaml:"client_id"`
		ClientSecretFile string `yaml:"client_secret_file"`
	} `yaml:"auth"`
	PollS          int `yaml:"poll_s"`
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
}

func (c *testCloudConfig) Check(k *gateway.Checker) {
	k.Required("pms.base_url", c.BaseURL, "the PMS API's address")
	if c.PollS < 10 {
		k.Add("pms.poll_s", "%d is less than 10: it is how often, in seconds, the gateway asks the PMS who is in house", c.PollS)
	}
}

// ResolvePaths makes the secret file's path relative to the config, as the
// cloud adapters' configs do.
func (c *testCloudConfig) ResolvePaths(resolve func(string) string) {
	if c.Auth.ClientSecretFile != "" {
		c.Auth.ClientSecretFile = resolve(c.Auth.ClientSecretFile)
	}
}

// testCloudOpened is the link the test protocol opened last.
var testCloudOpened *gatewaytest.PMSLink

func init() {
	registerPMS(cloudPMS("test-cloud", gateway.CapabilityLookup,
		func() testCloudConfig { return testCloudConfig{PollS: 60, AnswerTimeoutS: 30} },
		(*testCloudConfig).Check,
		func(c *testCloudConfig, env pmsEnv) (gateway.PMSLink, error) {
			l := gatewaytest.NewPMSLink(nil)
			l.SetCapability(gateway.CapabilityLookup)
			testCloudOpened = l
			return l, nil
		}))
	// A protocol whose link declares less than its entry says.
	registerPMS(cloudPMS("test-liar", gateway.CapabilityIdempotent,
		func() testCloudConfig { return testCloudConfig{PollS: 60} },
		(*testCloudConfig).Check,
		func(c *testCloudConfig, env pmsEnv) (gateway.PMSLink, error) { return gatewaytest.NewPMSLink(nil), nil }))
}

const cloudConfig = `site: {name: Grand Hotel, timezone: America/New_York}
store: {path: /var/lib/callgate/journal.db}
pbx:
  format: avaya-ipo
  transport: serial
  serial: {device: /dev/ttyUSB0}
pms:
  protocol: test-cloud
  base_url: https://pms.example
  property: MUC
  auth: {client_id: callgate, client_secret_file: /etc/callgate/secret}
  poll_s: 30
tariff: tariff.yaml
`

func TestPMSProtocolDispatch(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, cloudConfig))
	if err != nil {
		t.Fatalf("a test-cloud config: %v", err)
	}
	s, ok := c.PMSCloud.(*cloudSection[testCloudConfig])
	if !ok || c.pms == nil || c.pms.name != "test-cloud" {
		t.Fatalf("read by %v into %T", c.pms, c.PMSCloud)
	}
	if s.Config.BaseURL != "https://pms.example" || s.Config.Auth.ClientID != "callgate" || s.Config.PollS != 30 || s.Config.AnswerTimeoutS != 30 {
		t.Errorf("section %+v", s.Config)
	}
	if s.LostAnswer != DefaultLostAnswer() {
		t.Errorf("lost_answer %+v, want the defaults", s.LostAnswer)
	}
	// The link it opens, and the engine's limits from lost_answer.
	e := &gateway.Engine{}
	link, err := c.openPMS(e, pmsEnv{Logger: zerolog.Nop(), Closers: new([]func() error)})
	if err != nil || link != gateway.PMSLink(testCloudOpened) {
		t.Fatalf("open: %v %v", link, err)
	}
	link.Close()
	if e.LookupGrace != 30*time.Second || e.LookupTries != 5 || e.ResolveLimit != 15*time.Minute {
		t.Errorf("engine limits %s %d %s", e.LookupGrace, e.LookupTries, e.ResolveLimit)
	}

	// FIAS stays as it was: its keys, its defaults, its waits.
	c, err = LoadConfig(writeConfig(t, goodConfig))
	if err != nil || c.pms.name != "fias" || c.PMSCloud != nil || c.PMS.Address != "10.0.0.20:5010" {
		t.Fatalf("fias: %v, %+v", err, c.PMS)
	}
	e = &gateway.Engine{}
	c.pms.engine(c, e)
	if e.RetryMin != 2*time.Second || e.RetryMax != time.Minute || e.NightAuditPoll != time.Minute {
		t.Errorf("fias waits %s %s %s", e.RetryMin, e.RetryMax, e.NightAuditPoll)
	}
	// No pms section, or no protocol: fias.
	noPMS := strings.Replace(goodConfig, "pms:\n  protocol: fias\n  address: \"10.0.0.20:5010\"\n", "", 1)
	if c, err := LoadConfig(writeConfig(t, noPMS)); c == nil || c.pms == nil || c.pms.name != "fias" || !strings.Contains(errString(err), "pms.address") {
		t.Errorf("no pms section: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPMSProtocolProblems(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"unknown protocol", "protocol: test-cloud", "protocol: apalio",
			[]string{`pms.protocol: line 8: "apalio" is not a PMS protocol this gateway speaks: use one of apaleo, fias, mews, opera-cloud, test-cloud, test-liar`}},
		{"a fias key under a cloud protocol", "poll_s: 30", "poll_s: 30\n  address: \"10.0.0.20:5010\"",
			[]string{"pms.address: line 13: address is a key of pms.protocol fias, not of test-cloud (the protocol this file sets)"}},
		{"a cloud key under fias", "protocol: test-cloud", "protocol: fias\n  address: \"10.0.0.20:5010\"",
			[]string{"pms.base_url: line 10: base_url is a key of pms.protocol apaleo or mews or opera-cloud or test-cloud or test-liar, not of fias",
				"pms.poll_s: line 13: poll_s is a key of pms.protocol apaleo or mews or opera-cloud or test-cloud or test-liar, not of fias",
				"pms.lost_answer", // not given: no problem of it
			}},
		{"a typo", "poll_s: 30", "pol_s: 30",
			[]string{"pms.pol_s: line 12: unknown key (did you mean poll_s?); the keys pms.protocol test-cloud allows under pms are "}},
		{"a typo inside a cloud section", "client_id: callgate", "clientid: callgate",
			[]string{"pms.auth.clientid: line 11: unknown key (did you mean client_id?)"}},
		{"the protocol's own check", "poll_s: 30", "poll_s: 3",
			[]string{"pms.poll_s: line 12: 3 is less than 10"}},
		{"lost_answer checked", "poll_s: 30", "poll_s: 30\n  lost_answer: {grace_s: 0, lookup_tries: 500, limit_s: 7200}",
			[]string{"pms.lost_answer.grace_s: line 13: 0 is not from 1 to 600", "pms.lost_answer.lookup_tries: line 13: 500 is not from 1 to 100",
				"pms.lost_answer.limit_s: line 13: 7200 is not from grace_s (0) to 3600"}},
		{"lost_answer under fias", "protocol: test-cloud\n  base_url: https://pms.example\n  property: MUC\n  auth: {client_id: callgate, client_secret_file: /etc/callgate/secret}\n  poll_s: 30",
			"protocol: fias\n  address: \"10.0.0.20:5010\"\n  lost_answer: {grace_s: 10}",
			[]string{"pms.lost_answer: line 10: lost_answer is a key of pms.protocol apaleo or mews or opera-cloud or test-cloud or test-liar, not of fias"}},
		{"a key given twice", "poll_s: 30", "poll_s: 30\n  poll_s: 40",
			[]string{"pms.poll_s: line 13: given twice (first on line 12)"}},
		{"not a section", "pms:\n  protocol: test-cloud\n  base_url: https://pms.example\n  property: MUC\n  auth: {client_id: callgate, client_secret_file: /etc/callgate/secret}\n  poll_s: 30",
			"pms: [fias]", []string{"pms: line 7: want a section of keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(cloudConfig, tc.from, tc.to, 1)
			if body == cloudConfig {
				t.Fatalf("%q not in the config", tc.from)
			}
			_, err := LoadConfig(writeConfig(t, body))
			got := errString(err)
			for _, w := range tc.want {
				if w == "pms.lost_answer" {
					if strings.Contains(got, w) {
						t.Errorf("a problem of %s, which is not given:\n%s", w, got)
					}
					continue
				}
				if !strings.Contains(got, w) {
					t.Errorf("want %q in:\n%s", w, got)
				}
			}
		})
	}
}

func TestPMSProtocolCapabilityMustMatch(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, strings.Replace(cloudConfig, "protocol: test-cloud", "protocol: test-liar", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.openPMS(&gateway.Engine{}, pmsEnv{Logger: zerolog.Nop(), Closers: new([]func() error)}); err == nil || !strings.Contains(err.Error(), "declares capability blind where the gateway expects idempotent") {
		t.Errorf("a link declaring another capability: %v", err)
	}
}

func TestPMSProtocolKeys(t *testing.T) {
	keys := pmsProtocols["test-cloud"].keys
	want := []string{"answer_timeout_s", "auth", "base_url", "lost_answer", "poll_s", "property", "protocol"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if f := pmsProtocols["fias"].keys; !slices.Contains(f, "address") || !slices.Contains(f, "retry") || slices.Contains(f, "lost_answer") {
		t.Errorf("fias keys %v", f)
	}
}

// TestServeResolvesALostAnswer: serve wired with a lookup PMS (the
// test-only protocol, its link the fake PMS): a call whose answer is lost
// after the PMS booked it is looked up after pms.lost_answer.grace_s and
// journaled posted, once on the folio, under the reference made of
// site.name, the journal's epoch, the entry and its P#; gateway journal
// prints every step.
func TestServeResolvesALostAnswer(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	g := startTestGateway(t, dir, `site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: smdr.txt}
pms:
  protocol: test-cloud
  base_url: https://pms.example
  lost_answer: {grace_s: 1, limit_s: 60}
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
`, &logs)
	link := testCloudOpened
	if g.engine.PMS != gateway.PMSLink(link) || g.engine.LookupGrace != time.Second || g.engine.ResolveLimit != time.Minute || g.engine.Property != "Harbour Hotel" {
		t.Fatalf("engine wired with %T, grace %s, limit %s, property %q", g.engine.PMS, g.engine.LookupGrace, g.engine.ResolveLimit, g.engine.Property)
	}
	link.Answer(gatewaytest.Reply{Timeout: true, Applied: true})
	g.run(t)
	// The PMS answers the resync the engine asks for (no guest data yet).
	wait, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !link.Await(wait, func() bool { return link.Resyncs() > 0 }) {
		t.Fatal("no resync asked")
	}
	for _, ev := range []gateway.GuestEvent{{Kind: gateway.ResyncStart}, {Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "415", Reservation: "R1"}}, {Kind: gateway.ResyncEnd}} {
		link.Guest(ev)
	}
	// The file is followed from its end once opened: write after that.
	if !logs.wait(20*time.Second, func(s string) bool { return strings.Contains(s, "following the PBX file") }) {
		t.Fatal("the PBX file is not followed")
	}
	f, err := os.OpenFile(filepath.Join(dir, "smdr.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(ipoRecord)
	f.Close()
	var en gateway.Entry
	deadline := time.Now().Add(20 * time.Second)
	for {
		en, err = g.journal.Entry(context.Background(), 1)
		if err == nil && en.State == gateway.StatePosted {
			break
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(en)
			t.Fatalf("entry 1 not posted: %v %s", err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, _ := g.journal.Info(context.Background())
	ref := gateway.PostingReference("Harbour Hotel", info.Epoch, en.ID, en.Posting)
	if !strings.HasPrefix(ref, "harbour-hotel-") || link.Charges(ref) != 1 || len(link.Posted()) != 1 || len(link.Lookups()) != 1 {
		t.Errorf("reference %s: %d charges, %d sent, %d lookups", ref, link.Charges(ref), len(link.Posted()), len(link.Lookups()))
	}
	g.stop(t)
	code, out, errOut := run(t, "", "journal", "--config", filepath.Join(dir, "callgate.yaml"))
	if code != 0 {
		t.Fatalf("gateway journal: %d %s", code, errOut)
	}
	for _, want := range []string{`"to":"resolving"`, "the PMS's answer was lost", `"from":"resolving","to":"posted"`, "looked up: the PMS holds reference " + ref + " (charge C1)", `"code":"found"`} {
		if !strings.Contains(out, want) {
			t.Errorf("gateway journal lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckPrintsTheProtocolsProblems: gateway check prints the problems of
// the pms section as its protocol reads it, with their lines.
func TestCheckPrintsTheProtocolsProblems(t *testing.T) {
	body := strings.Replace(cloudConfig, "poll_s: 30", "poll_s: 3\n  lost_answer: {limit_s: 5}\n  address: \"10.0.0.20:5010\"", 1)
	code, out, errOut := run(t, "", "check", "--config", writeConfig(t, body))
	if code != 1 || !strings.Contains(errOut, "problems: fix them") { // and the serial port that is not on this machine
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"pms.poll_s: line 12: 3 is less than 10",
		"pms.lost_answer.limit_s: line 13: 5 is not from grace_s (30) to 3600",
		"pms.address: line 14: address is a key of pms.protocol fias, not of test-cloud",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("gateway check lacks %q:\n%s", want, out)
		}
	}
}

// TestCloudSecretFilesAreRelativeToTheConfig: a cloud PMS's secret file
// named relative to the config file is read from the config's folder, as
// the tariff is, whatever the working folder (systemd runs serve from /).
func TestCloudSecretFilesAreRelativeToTheConfig(t *testing.T) {
	data, err := os.ReadFile("../../configs/3cx-apaleo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(data), "client_secret_file: /etc/callgate/apaleo.secret", "client_secret_file: apaleo.secret", 1)
	if text == string(data) {
		t.Fatal("the example no longer names /etc/callgate/apaleo.secret")
	}
	if err := os.WriteFile(filepath.Join(dir, "apaleo.secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ParseConfig([]byte(text), filepath.Join(dir, "callgate.yaml"))
	var ps Problems
	errors.As(err, &ps)
	for _, p := range ps {
		if strings.HasPrefix(p.Key, "pms.auth") {
			t.Errorf("the secret beside the config is not found: %v", p)
		}
	}
}
