package operacloud_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/pms/operacloud"
)

func goodConfig(t *testing.T) operacloud.Config {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "ohip.secret")
	if err := os.WriteFile(secret, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := operacloud.DefaultConfig()
	c.BaseURL = "https://abc-ohip.oracleindustry.com"
	c.Property = "HOTEL1"
	c.Auth.ClientID = "callgate"
	c.Auth.ClientSecretFile = secret
	c.Auth.AppKey = "41ecd082-8997-4c69-af34-2f72b83645ff"
	c.Charge.CashierID = "1001"
	c.Charge.TransactionCodes = map[string]string{"international": "9100", "national": "9110"}
	return c
}

func problems(c operacloud.Config) map[string]string {
	var k gateway.Checker
	c.Check(&k)
	out := map[string]string{}
	for _, p := range k.Problems {
		out[p.Key] = p.Msg
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	c := operacloud.DefaultConfig()
	if c.Protocol != "opera-cloud" || c.PollS != 60 || c.AnswerTimeoutS != 30 || c.RatePerS != 50 || c.Auth.Scope != operacloud.DefaultScope {
		t.Errorf("%+v", c)
	}
	if p := problems(goodConfig(t)); len(p) != 0 {
		t.Errorf("a good config: %v", p)
	}
}

// TestConfigCheck: each bad key is reported under its pms.… key with a
// sentence naming the fix.
func TestConfigCheck(t *testing.T) {
	t.Setenv(operacloud.SecretEnv, "")
	for _, c := range []struct {
		name  string
		edit  func(*operacloud.Config)
		key   string
		words string
	}{
		{"no base url", func(c *operacloud.Config) { c.BaseURL = "" }, "pms.base_url", "OHIP gateway"},
		{"plain http", func(c *operacloud.Config) { c.BaseURL = "http://ohip.example.com" }, "pms.base_url", "https"},
		{"not a url", func(c *operacloud.Config) { c.BaseURL = "ohip" }, "pms.base_url", "not an address"},
		{"no property", func(c *operacloud.Config) { c.Property = "" }, "pms.property", "hotel id"},
		{"bad property", func(c *operacloud.Config) { c.Property = "A/B" }, "pms.property", "hotel id"},
		{"no client id", func(c *operacloud.Config) { c.Auth.ClientID = "" }, "pms.auth.client_id", "client id"},
		{"no secret", func(c *operacloud.Config) { c.Auth.ClientSecretFile = "" }, "pms.auth.client_secret_file", operacloud.SecretEnv},
		{"missing secret file", func(c *operacloud.Config) { c.Auth.ClientSecretFile = "/nonexistent/x" }, "pms.auth.client_secret_file", "cannot read"},
		{"bad app key", func(c *operacloud.Config) { c.Auth.AppKey = "key" }, "pms.auth.app_key", "UUID"},
		{"bad enterprise", func(c *operacloud.Config) { c.Auth.EnterpriseID = "toolongid" }, "pms.auth.enterprise_id", "enterprise"},
		{"user without password", func(c *operacloud.Config) { c.Auth.Username = "IFC" }, "pms.auth.password_file", "password"},
		{"password without user", func(c *operacloud.Config) { c.Auth.PasswordFile = c.Auth.ClientSecretFile }, "pms.auth.username", "integration user"},
		{"no cashier", func(c *operacloud.Config) { c.Charge.CashierID = "" }, "pms.charge.cashier_id", "cashier id"},
		{"bad cashier", func(c *operacloud.Config) { c.Charge.CashierID = "abc" }, "pms.charge.cashier_id", "numbers"},
		{"no codes", func(c *operacloud.Config) { c.Charge.TransactionCodes = nil }, "pms.charge.transaction_codes", "international"},
		{"empty code", func(c *operacloud.Config) { c.Charge.TransactionCodes["mobile"] = "" }, "pms.charge.transaction_codes.mobile", "mobile"},
		{"poll", func(c *operacloud.Config) { c.PollS = 1 }, "pms.poll_s", "5 to 3600"},
		{"timeout", func(c *operacloud.Config) { c.AnswerTimeoutS = 0 }, "pms.answer_timeout_s", "5 to 300"},
		{"rate", func(c *operacloud.Config) { c.RatePerS = 51 }, "pms.rate_per_s", "50"},
		{"protocol", func(c *operacloud.Config) { c.Protocol = "fias" }, "pms.protocol", "opera-cloud"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := goodConfig(t)
			c.edit(&cfg)
			p := problems(cfg)
			if msg, ok := p[c.key]; !ok || !strings.Contains(msg, c.words) {
				t.Errorf("%s: %q (all: %v)", c.key, msg, p)
			}
		})
	}
}

// TestConfigSecrets: secret files are read trimmed; without one, the
// environment variable serves; the secret never appears in a problem.
func TestConfigSecrets(t *testing.T) {
	c := goodConfig(t)
	if s, p, err := c.Secrets(); err != nil || s != "s3cr3t" || p != "" {
		t.Fatalf("%q %q %v", s, p, err)
	}
	c.Auth.ClientSecretFile = ""
	t.Setenv(operacloud.SecretEnv, " from-env \n")
	if p := problems(c); len(p) != 0 {
		t.Errorf("with the environment variable: %v", p)
	}
	if s, _, err := c.Secrets(); err != nil || s != "from-env" {
		t.Errorf("%q %v", s, err)
	}
	t.Setenv(operacloud.SecretEnv, "")
	if _, _, err := c.Secrets(); err == nil || !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("no secret: %v", err)
	}
	if _, err := operacloud.Open(operacloud.Options{Config: c, MinorDigits: digits}); err == nil || !strings.Contains(err.Error(), operacloud.SecretEnv) {
		t.Errorf("Open without a secret: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Auth.ClientSecretFile = empty
	if p := problems(c); !strings.Contains(p["pms.auth.client_secret_file"], "empty") {
		t.Errorf("empty file: %v", p)
	}
	c = goodConfig(t)
	c.Auth.Username = "IFC_USER"
	c.Auth.PasswordFile = c.Auth.ClientSecretFile
	if s, p, err := c.Secrets(); err != nil || s != "s3cr3t" || p != "s3cr3t" {
		t.Errorf("password grant: %q %q %v", s, p, err)
	}
}

// TestOptionsOpen: Open refuses options without the currency digits.
func TestOptionsOpen(t *testing.T) {
	if _, err := operacloud.Open(operacloud.Options{Config: goodConfig(t)}); err == nil || !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("Open without MinorDigits: %v", err)
	}
}
