package mews_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

func validConfig(t *testing.T) mews.Config {
	t.Helper()
	dir := t.TempDir()
	c := mews.DefaultConfig()
	c.Auth.ClientTokenFile = writeSecret(t, dir, "client", sim.DefaultClientToken)
	c.Auth.AccessTokenFile = writeSecret(t, dir, "access", sim.DefaultAccessToken)
	c.Charge.ServiceID = sim.DefaultServiceID
	c.Charge.AccountingCategories = map[string]string{"international": sim.DefaultAccountingCategories["international"]}
	return c
}

// TestConfigCheck: each mistake is a problem under its own key, in a
// sentence naming the fix; a valid section has none.
func TestConfigCheck(t *testing.T) {
	t.Setenv(mews.EnvClientToken, "")
	t.Setenv(mews.EnvAccessToken, "")
	for _, tc := range []struct {
		name string
		edit func(*mews.Config)
		key  string
		want string
	}{
		{"valid", func(*mews.Config) {}, "", ""},
		{"protocol", func(c *mews.Config) { c.Protocol = "fias" }, "pms.protocol", "mews"},
		{"no base url", func(c *mews.Config) { c.BaseURL = "" }, "pms.base_url", "https://api.mews.com"},
		{"plain http", func(c *mews.Config) { c.BaseURL = "http://api.mews.com" }, "pms.base_url", "use https"},
		{"path", func(c *mews.Config) { c.BaseURL = "https://api.mews.com/api/connector/v1" }, "pms.base_url", "platform address only"},
		{"property", func(c *mews.Config) { c.Property = "MUC" }, "pms.property", "remove it"},
		{"enterprise", func(c *mews.Config) { c.EnterpriseID = "hotel-1" }, "pms.enterprise_id", "Mews identifier"},
		{"no client token", func(c *mews.Config) { c.Auth.ClientTokenFile = "" }, "pms.auth.client_token_file", mews.EnvClientToken},
		{"unreadable access token", func(c *mews.Config) { c.Auth.AccessTokenFile = "/nonexistent/access" }, "pms.auth.access_token_file", "cannot read /nonexistent/access"},
		{"no client name", func(c *mews.Config) { c.Auth.ClientName = " " }, "pms.auth.client_name", "callgate 1.0"},
		{"no service", func(c *mews.Config) { c.Charge.ServiceID = "" }, "pms.charge.service_id", "Telephone"},
		{"no categories", func(c *mews.Config) { c.Charge.AccountingCategories = nil }, "pms.charge.accounting_categories", "map each tariff class"},
		{"bad category", func(c *mews.Config) { c.Charge.AccountingCategories["local"] = "Calls" }, "pms.charge.accounting_categories.local", "Mews identifier"},
		{"poll", func(c *mews.Config) { c.PollS = 1 }, "pms.poll_s", "from 5 to 3600"},
		{"answer timeout", func(c *mews.Config) { c.AnswerTimeoutS = 0 }, "pms.answer_timeout_s", "from 5 to 300"},
		{"rate limit", func(c *mews.Config) { c.RateLimit.Requests = 0 }, "pms.rate_limit.requests", "200 in 30"},
		{"tax code", func(c *mews.Config) { c.Charge.TaxCode = "AT S" }, "pms.charge.tax_code", "tax rate code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.edit(&c)
			var k gateway.Checker
			c.Check(&k)
			if tc.key == "" {
				if len(k.Problems) != 0 {
					t.Errorf("problems in a valid section: %v", k.Problems)
				}
				return
			}
			for _, p := range k.Problems {
				if p.Key == tc.key && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Errorf("no problem at %s with %q: %v", tc.key, tc.want, k.Problems)
		})
	}
}

// TestTokens: a token file is read trimmed (echo's newline); without a
// file, the environment variable; an empty file is a problem that never
// shows a token.
func TestTokens(t *testing.T) {
	c := validConfig(t)
	cl, ac, err := c.Tokens()
	if err != nil || cl != sim.DefaultClientToken || ac != sim.DefaultAccessToken {
		t.Errorf("%q %q %v", cl, ac, err)
	}
	c.Auth.AccessTokenFile = ""
	t.Setenv(mews.EnvAccessToken, " from-env \n")
	if _, ac, err := c.Tokens(); err != nil || ac != "from-env" {
		t.Errorf("from the environment: %q %v", ac, err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Auth.AccessTokenFile = empty
	if _, _, err := c.Tokens(); err == nil || !strings.Contains(err.Error(), "is empty") || strings.Contains(err.Error(), sim.DefaultClientToken) {
		t.Errorf("empty file: %v", err)
	}
	// Open refuses a section with problems, naming them.
	if _, err := mews.Open(mews.Options{Config: mews.Config{}}); err == nil || !strings.Contains(err.Error(), "pms.base_url") {
		t.Errorf("Open with an empty config: %v", err)
	}
}
