package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/pms/mews"
	mewssim "callgate/pms/mews/sim"
	"callgate/pms/operacloud"
	operasim "callgate/pms/operacloud/sim"
	"callgate/tariff"
)

// TestSimCloudUsage: gateway sim pms --protocol refuses the FIAS
// simulator's flags for a cloud PMS, an unknown protocol and bad room
// lists, each with a sentence naming the flag.
func TestSimCloudUsage(t *testing.T) {
	for _, p := range []string{"opera-cloud", "mews", "apaleo"} {
		for _, c := range []struct{ flags []string }{
			{[]string{"--protel"}}, {[]string{"--transcript"}}, {[]string{"--transcript-file", "x.txt"}},
			{[]string{"--serial", "/dev/ttyUSB1"}}, {[]string{"--code-page", "cp850"}},
		} {
			code, _, errOut := run(t, "", append([]string{"sim", "pms", "--protocol", p, "--listen", "127.0.0.1:0"}, c.flags...)...)
			want := c.flags[0] + " is for the FIAS simulator, not --protocol " + p
			if code != 2 || !strings.Contains(errOut, want) {
				t.Errorf("%s %v: exit %d %q, want 2 and %q", p, c.flags, code, errOut, want)
			}
		}
		code, _, errOut := run(t, "", "sim", "pms", "--protocol", p, "--listen", "127.0.0.1:0", "--rooms", "101-9x")
		if code != 2 || !strings.Contains(errOut, "--rooms") {
			t.Errorf("%s bad rooms: exit %d %q", p, code, errOut)
		}
		code, _, errOut = run(t, "", "sim", "pms", "--protocol", p, "--listen", "127.0.0.1:0", "--rooms", "101-105", "--vacant", "10?")
		if code != 2 || !strings.Contains(errOut, "--vacant") {
			t.Errorf("%s bad vacant: exit %d %q", p, code, errOut)
		}
	}
	code, _, errOut := run(t, "", "sim", "pms", "--protocol", "protel-cloud")
	if code != 2 || !strings.Contains(errOut, `--protocol "protel-cloud" is not one of fias, opera-cloud, mews, apaleo`) {
		t.Errorf("unknown protocol: exit %d %q", code, errOut)
	}
}

var simURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

// TestSimCloudPMS runs gateway sim pms --protocol for each cloud PMS on a
// port of its choosing: it prints the settings with the address it serves
// on, and the PMS's own link, opened on them, finds a guest in each room
// of --rooms not in --vacant, posts to one and finds a vacant one empty;
// the command ends cleanly when interrupted.
func TestSimCloudPMS(t *testing.T) {
	for _, protocol := range []string{"opera-cloud", "mews", "apaleo"} {
		t.Run(protocol, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			outR, outW := io.Pipe()
			var errb lockedBuffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, []string{"sim", "pms", "--protocol", protocol, "--listen", "127.0.0.1:0", "--rooms", "101-105", "--vacant", "104-105"},
					strings.NewReader(""), outW, &errb)
				outW.Close()
			}()
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(outR)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var printed []string
			url := ""
			deadline := time.After(20 * time.Second)
			// The settings: the address, and the line that names the
			// PMS's settings for the gateway.
			for url == "" || !slices.ContainsFunc(printed, func(l string) bool {
				return strings.Contains(l, "service_id") || strings.Contains(l, "pms: {protocol: "+protocol)
			}) {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("output ended: %q; stderr %s", printed, errb.String())
					}
					printed = append(printed, l)
					if u := simURL.FindString(l); u != "" && url == "" {
						url = u
					}
				case <-deadline:
					t.Fatalf("no settings printed: %q", printed)
				}
			}
			if strings.Contains(strings.Join(printed, "\n"), "127.0.0.1:0") {
				t.Errorf("the settings name port 0, not the port served: %q", printed)
			}
			link := openSimLink(t, protocol, url)
			defer link.Close()
			wait, wcancel := context.WithTimeout(ctx, 20*time.Second)
			defer wcancel()
			var inHouse []string
		resync:
			for {
				select {
				case ev := <-link.GuestEvents():
					switch ev.Kind {
					case gateway.GuestCheckIn:
						inHouse = append(inHouse, ev.Guest.Room)
					case gateway.ResyncEnd:
						break resync
					}
				case <-wait.Done():
					t.Fatalf("no resync from the simulator; rooms so far %v", inHouse)
				}
			}
			slices.Sort(inHouse)
			if !slices.Equal(inHouse, []string{"101", "102", "103"}) {
				t.Errorf("in house %v, want 101-103 (104-105 vacant)", inHouse)
			}
			if err := link.WaitReady(wait); err != nil {
				t.Fatal(err)
			}
			p := gateway.PostRequest{Number: 1, Room: "101", AmountMinor: 250, Currency: "USD", Class: "international",
				Start: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), DurationS: 60, Dialed: "0044207", Destination: "London",
				Reference: "sim-test-1", FirstSent: time.Now()}
			if protocol == "mews" || protocol == "apaleo" {
				p.Currency = "EUR" // the simulators' currency
			}
			if r, err := link.Post(wait, p); r.Outcome != gateway.PostPosted {
				t.Errorf("posting to 101: %+v %v", r, err)
			}
			p.Number, p.Room, p.Reference = 2, "104", "sim-test-2"
			if r, err := link.Post(wait, p); r.Outcome != gateway.PostVacant {
				t.Errorf("posting to vacant 104: %+v %v", r, err)
			}
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit %d: %s", code, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("sim pms did not stop")
			}
		})
	}
}

// openSimLink opens protocol's link on the simulator at url with the
// simulator's default credentials.
func openSimLink(t *testing.T, protocol, url string) gateway.PMSLink {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	var (
		link gateway.PMSLink
		err  error
	)
	switch protocol {
	case "opera-cloud":
		c := operacloud.DefaultConfig()
		c.BaseURL, c.Property = url, "HOTEL1"
		c.Auth.ClientID, c.Auth.AppKey = "callgate", operasim.DefaultAppKey
		c.Charge.CashierID = "1001"
		c.Charge.TransactionCodes = map[string]string{"international": operasim.DefaultCodes[0]}
		link, err = operacloud.Open(operacloud.Options{Config: c, ClientSecret: "secret", Logger: log, MinorDigits: tariff.MinorDigits})
	case "mews":
		dir := t.TempDir()
		write := func(name, v string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		c := mews.DefaultConfig()
		c.BaseURL = url
		c.Auth.ClientTokenFile = write("client", mewssim.DefaultClientToken)
		c.Auth.AccessTokenFile = write("access", mewssim.DefaultAccessToken)
		c.Charge.ServiceID = mewssim.DefaultServiceID
		c.Charge.AccountingCategories = mewssim.DefaultAccountingCategories
		link, err = mews.Open(mews.Options{Config: c, Logger: log, MinorDigits: tariff.MinorDigits, Location: time.UTC})
	case "apaleo":
		c := apaleo.DefaultConfig()
		c.BaseURL, c.Property = url, "MUC"
		c.Auth.TokenURL, c.Auth.ClientID = url+"/connect/token", "callgate"
		link, err = apaleo.Open(apaleo.Options{Config: c, ClientSecret: "sim-secret", Logger: log, MinorDigits: tariff.MinorDigits})
	}
	if err != nil {
		t.Fatalf("opening the %s link on %s: %v", protocol, url, err)
	}
	return link
}
