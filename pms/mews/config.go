package mews

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"callgate/gateway"
)

// Config is the pms section of the gateway's config file for Mews
// (pms.protocol: mews). See docs/pms-mews.md, "Configuration".
type Config struct {
	Protocol string `yaml:"protocol"` // mews
	// BaseURL is the Mews platform address, without /api/…:
	// https://api.mews.com (production), https://api.mews-demo.com (demo).
	BaseURL string `yaml:"base_url"`
	// Property is not used by Mews (the access token names the property);
	// it must be absent.
	Property string `yaml:"property"`
	// EnterpriseID names the property for a Portfolio Access Token (one
	// token for several properties); "" for the usual one-property token.
	EnterpriseID string       `yaml:"enterprise_id"`
	Auth         AuthConfig   `yaml:"auth"`
	Charge       ChargeConfig `yaml:"charge"`
	// PollS is the seconds between two reads of the in-house reservations.
	PollS int `yaml:"poll_s"`
	// AnswerTimeoutS is how long one request waits for Mews's answer; a
	// posting not answered by then is in doubt.
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// RateLimit is the client-side limit, Mews's documented 200 requests
	// per access token in any 30 seconds.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
}

// AuthConfig is pms.auth: the tokens Mews gives the integration. The two
// tokens are secrets: read from files (trimmed), or, when the file key is
// empty, from the environment variables EnvClientToken and EnvAccessToken.
type AuthConfig struct {
	ClientTokenFile string `yaml:"client_token_file"`
	AccessTokenFile string `yaml:"access_token_file"`
	// ClientName is the Client field of every request: name and version.
	ClientName string `yaml:"client_name"`
}

// The environment variables the tokens are read from when their *_file key
// is empty.
const (
	EnvClientToken = "CALLGATE_MEWS_CLIENT_TOKEN"
	EnvAccessToken = "CALLGATE_MEWS_ACCESS_TOKEN"
)

// ChargeConfig is pms.charge: what each call becomes in Mews.
type ChargeConfig struct {
	// ServiceID is the Mews service the call charges are ordered in (the
	// hotel creates one, e.g. "Telephone").
	ServiceID string `yaml:"service_id"`
	// AccountingCategories maps each tariff class to the accounting
	// category of its charges. A call whose class is missing is an
	// exception naming the key to add.
	AccountingCategories map[string]string `yaml:"accounting_categories"`
	// TaxCode is the Mews tax rate code of the charges (e.g. "AT-S"); ""
	// sends an empty TaxCodes list (no tax).
	TaxCode string `yaml:"tax_code"`
}

// RateLimitConfig is pms.rate_limit: at most Requests in any WindowS
// seconds.
type RateLimitConfig struct {
	Requests int `yaml:"requests"`
	WindowS  int `yaml:"window_s"`
}

// DefaultConfig returns the settings a Mews pms section starts from.
func DefaultConfig() Config {
	return Config{
		Protocol:       "mews",
		BaseURL:        "https://api.mews.com",
		Auth:           AuthConfig{ClientName: "callgate 1.0"},
		PollS:          60,
		AnswerTimeoutS: 30,
		RateLimit:      RateLimitConfig{Requests: 200, WindowS: 30},
	}
}

// guidRE is the shape of Mews's identifiers.
var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Check records the section's problems, under pms.
func (c *Config) Check(k *gateway.Checker) {
	k.OneOf("pms.protocol", c.Protocol, []string{"mews"})
	c.checkURL(k)
	if c.Property != "" {
		k.Add("pms.property", "%q is not used by Mews: remove it (the access token names the property; for a portfolio token give pms.enterprise_id)", c.Property)
	}
	if c.EnterpriseID != "" && !guidRE.MatchString(c.EnterpriseID) {
		k.Add("pms.enterprise_id", "%q is not a Mews identifier (like 3fa85f64-5717-4562-b3fc-2c963f66afa6): copy the enterprise's Id from Mews, or remove the key for a one-property token", c.EnterpriseID)
	}
	checkSecret(k, "pms.auth.client_token_file", c.Auth.ClientTokenFile, EnvClientToken, "the client token Mews gave the integration")
	checkSecret(k, "pms.auth.access_token_file", c.Auth.AccessTokenFile, EnvAccessToken, "the access token of the hotel's connection")
	if k.Required("pms.auth.client_name", strings.TrimSpace(c.Auth.ClientName), `the name and version the gateway gives Mews, e.g. "callgate 1.0"`) && len(c.Auth.ClientName) > 100 {
		k.Add("pms.auth.client_name", "is longer than 100 characters: give a short name and version")
	}
	if k.Required("pms.charge.service_id", c.Charge.ServiceID, "the Id of the Mews service call charges are ordered in (ask the hotel to create one, e.g. \"Telephone\")") &&
		!guidRE.MatchString(c.Charge.ServiceID) {
		k.Add("pms.charge.service_id", "%q is not a Mews identifier (like bd26d8db-86da-4f96-9efc-e5a4654a4a94): copy the service's Id from Mews", c.Charge.ServiceID)
	}
	if len(c.Charge.AccountingCategories) == 0 {
		k.Add("pms.charge.accounting_categories", "missing: map each tariff class (international, national, local, mobile, …) to the Id of its Mews accounting category")
	}
	classes := make([]string, 0, len(c.Charge.AccountingCategories))
	for class := range c.Charge.AccountingCategories {
		classes = append(classes, class)
	}
	slices.Sort(classes)
	for _, class := range classes {
		if id := c.Charge.AccountingCategories[class]; !guidRE.MatchString(id) {
			k.Add("pms.charge.accounting_categories."+class, "%q is not a Mews identifier: copy the accounting category's Id from Mews", id)
		}
	}
	if tc := c.Charge.TaxCode; tc != "" && (len(tc) > 50 || strings.ContainsAny(tc, " \t\r\n\"")) {
		k.Add("pms.charge.tax_code", "%q is not a Mews tax rate code (like AT-S)", tc)
	}
	if c.PollS < 5 || c.PollS > 3600 {
		k.Add("pms.poll_s", "%d is not from 5 to 3600: it is the seconds between two reads of the guests in house", c.PollS)
	}
	if c.AnswerTimeoutS < 5 || c.AnswerTimeoutS > 300 {
		k.Add("pms.answer_timeout_s", "%d is not from 5 to 300: it is the seconds one request waits for Mews's answer", c.AnswerTimeoutS)
	}
	if r := c.RateLimit; r.Requests < 1 || r.Requests > 100000 {
		k.Add("pms.rate_limit.requests", "%d is not from 1 to 100000: it is the most requests sent in pms.rate_limit.window_s seconds (Mews: 200 in 30)", r.Requests)
	}
	if r := c.RateLimit; r.WindowS < 1 || r.WindowS > 3600 {
		k.Add("pms.rate_limit.window_s", "%d is not from 1 to 3600: it is the window of pms.rate_limit.requests, in seconds (Mews: 30)", r.WindowS)
	}
}

func (c *Config) checkURL(k *gateway.Checker) {
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		k.Add("pms.base_url", "missing: give the Mews platform address, https://api.mews.com (or https://api.mews-demo.com for the demo)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		k.Add("pms.base_url", "%q is not an address like https://api.mews.com", c.BaseURL)
	case u.Scheme == "http" && !gateway.LoopbackHost(u.Hostname()):
		k.Add("pms.base_url", "%q is plain http to another machine: the tokens would cross the network unencrypted; use https", c.BaseURL)
	case u.Path != "" && u.Path != "/", u.RawQuery != "":
		k.Add("pms.base_url", "%q has a path or query: give the platform address only, like https://api.mews.com", c.BaseURL)
	}
}

// checkSecret records a problem when a token is neither in its file nor in
// its environment variable.
func checkSecret(k *gateway.Checker, key, file, env, what string) {
	if file == "" {
		if strings.TrimSpace(os.Getenv(env)) == "" {
			k.Add(key, "missing: give the file holding %s, or set the environment variable %s", what, env)
		}
		return
	}
	if _, err := readSecret(file, env); err != nil {
		k.Add(key, "%v", err)
	}
}

// readSecret reads a token from file (trimmed: a file written by echo ends
// with a newline), or from the environment variable env when file is "".
// The error names the file or variable, never the token.
func readSecret(file, env string) (string, error) {
	if file == "" {
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("the environment variable %s is empty: set it to the token, or give the token's file in the config", env)
		}
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cannot read %s (%v): check the path and that the gateway's user may read it", file, unwrapPathErr(err))
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty: write the token into it", file)
	}
	if strings.ContainsAny(v, "\r\n\t ") {
		return "", fmt.Errorf("%s holds more than one word: write only the token into it", file)
	}
	return v, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Tokens reads the client and access tokens from their files or
// environment variables, as they are now.
func (c *Config) Tokens() (client, access string, err error) {
	if client, err = readSecret(c.Auth.ClientTokenFile, EnvClientToken); err != nil {
		return "", "", fmt.Errorf("the Mews client token: %w", err)
	}
	if access, err = readSecret(c.Auth.AccessTokenFile, EnvAccessToken); err != nil {
		return "", "", fmt.Errorf("the Mews access token: %w", err)
	}
	return client, access, nil
}

// ResolvePaths makes the token files' names absolute with resolve (against
// the config file's folder).
func (c *Config) ResolvePaths(resolve func(string) string) {
	c.Auth.ClientTokenFile = resolve(c.Auth.ClientTokenFile)
	c.Auth.AccessTokenFile = resolve(c.Auth.AccessTokenFile)
}
