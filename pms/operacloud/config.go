package operacloud

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"callgate/gateway"
)

// Config is the pms section of the gateway's config file for OPERA Cloud
// through OHIP (protocol opera-cloud). Keys and defaults:
// docs/pms-operacloud.md.
type Config struct {
	Protocol string `yaml:"protocol"` // opera-cloud
	// BaseURL is the OHIP gateway of the hotel's environment, e.g.
	// https://xxxx-ohip.oracleindustry.com (no path).
	BaseURL string `yaml:"base_url"`
	// Property is the OPERA Cloud hotel id (path {hotelId}, header
	// x-hotelid).
	Property string       `yaml:"property"`
	Auth     AuthConfig   `yaml:"auth"`
	Charge   ChargeConfig `yaml:"charge"`
	// PollS is the seconds between two reads of the in-house
	// reservations (default 60).
	PollS int `yaml:"poll_s"`
	// AnswerTimeoutS is how long a request waits for OHIP's answer (a
	// charge without one is in doubt); default 30.
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// RatePerS is the most requests per second the gateway sends (OHIP
	// throttles above 50 per environment); default 50. Lower it when
	// other integrations share the environment.
	RatePerS int `yaml:"rate_per_s"`
	// ExternalSystem, if set, is sent as x-externalsystem (at most 40
	// characters): the external system code OPERA knows the gateway by.
	ExternalSystem string `yaml:"external_system"`
}

// AuthConfig is pms.auth: OAuth for OHIP (POST {token_url}, client id and
// secret as HTTP Basic, x-app-key).
type AuthConfig struct {
	// TokenURL defaults to {base_url}/oauth/v1/tokens.
	TokenURL string `yaml:"token_url"`
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client secret (read trimmed); when empty
	// the secret comes from the environment variable SecretEnv names.
	ClientSecretFile string `yaml:"client_secret_file"`
	// AppKey is the application key (a UUID) sent as x-app-key.
	AppKey string `yaml:"app_key"`
	// Scope is the client_credentials scope; default
	// urn:opc:hgbu:ws:__myscopes__.
	Scope string `yaml:"scope"`
	// EnterpriseID, if set, is sent as enterpriseId with the token
	// request (OCIM environments with client credentials).
	EnterpriseID string `yaml:"enterprise_id"`
	// Username and PasswordFile, when given, use the password grant of an
	// OPERA Cloud integration user instead of client_credentials.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

// ChargeConfig is pms.charge: how a call becomes an OPERA Cloud charge.
type ChargeConfig struct {
	// CashierID is the cashier id of the integration user (a number).
	CashierID string `yaml:"cashier_id"`
	// TransactionCodes maps the tariff's classes to OPERA revenue
	// transaction codes (e.g. international: "9100").
	TransactionCodes map[string]string `yaml:"transaction_codes"`
}

// The environment variables secrets may come from when no file is named.
const (
	SecretEnv   = "CALLGATE_OHIP_CLIENT_SECRET"
	PasswordEnv = "CALLGATE_OHIP_PASSWORD"
)

// DefaultScope is the client_credentials scope OHIP's OCIM environments
// take when the hotel gives none.
const DefaultScope = "urn:opc:hgbu:ws:__myscopes__"

// Protocol is the pms.protocol value of this adapter.
const Protocol = "opera-cloud"

// DefaultConfig returns the settings a pms section starts from.
func DefaultConfig() Config {
	return Config{Protocol: Protocol, PollS: 60, AnswerTimeoutS: 30, RatePerS: 50,
		Auth: AuthConfig{Scope: DefaultScope}}
}

var (
	appKeyRe = regexp.MustCompile(`^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$`)
	digitsRe = regexp.MustCompile(`^[0-9]{1,12}$`)
)

// Check records the section's problems under pms.… keys. It reads the
// secret files, so that a missing or empty one is found before serving.
func (c *Config) Check(k *gateway.Checker) {
	if c.Protocol != Protocol {
		k.Add("pms.protocol", "%q is not %q", c.Protocol, Protocol)
	}
	if k.Required("pms.base_url", c.BaseURL, "give the OHIP gateway address of the hotel's environment, like https://xxxx-ohip.oracleindustry.com") {
		checkURL(k, "pms.base_url", c.BaseURL)
	}
	if k.Required("pms.property", c.Property, "give the OPERA Cloud hotel id (x-hotelid), like HOTEL1") &&
		(len(c.Property) > 20 || strings.ContainsAny(c.Property, "/?#% ")) {
		k.Add("pms.property", "%q is not an OPERA Cloud hotel id: at most 20 characters, no spaces or /?#%%", c.Property)
	}
	if c.Auth.TokenURL != "" {
		checkURL(k, "pms.auth.token_url", c.Auth.TokenURL)
	}
	k.Required("pms.auth.client_id", c.Auth.ClientID, "give the OHIP client id the hotel's OPERA Cloud administrator registered for the gateway")
	if c.Auth.ClientSecretFile != "" {
		if _, err := readSecretFile(c.Auth.ClientSecretFile); err != nil {
			k.Add("pms.auth.client_secret_file", "%v", err)
		}
	} else if strings.TrimSpace(os.Getenv(SecretEnv)) == "" {
		k.Add("pms.auth.client_secret_file", "missing: name a file holding the OHIP client secret (or set the environment variable %s)", SecretEnv)
	}
	if k.Required("pms.auth.app_key", c.Auth.AppKey, "give the OHIP application key (a UUID) of the gateway's registered application") && !appKeyRe.MatchString(c.Auth.AppKey) {
		k.Add("pms.auth.app_key", "%q is not an OHIP application key: a UUID like 41ecd082-8997-4c69-af34-2f72b83645ff", c.Auth.AppKey)
	}
	if c.Auth.EnterpriseID != "" && !regexp.MustCompile(`^[A-Z0-9]{1,8}$`).MatchString(c.Auth.EnterpriseID) {
		k.Add("pms.auth.enterprise_id", "%q is not an enterprise id: 1 to 8 capital letters or digits", c.Auth.EnterpriseID)
	}
	if c.Auth.Username != "" {
		if c.Auth.PasswordFile != "" {
			if _, err := readSecretFile(c.Auth.PasswordFile); err != nil {
				k.Add("pms.auth.password_file", "%v", err)
			}
		} else if strings.TrimSpace(os.Getenv(PasswordEnv)) == "" {
			k.Add("pms.auth.password_file", "missing: pms.auth.username is set, so name a file holding the integration user's password (or set the environment variable %s)", PasswordEnv)
		}
	} else if c.Auth.PasswordFile != "" {
		k.Add("pms.auth.username", "missing: pms.auth.password_file is set; give the OPERA Cloud integration user name, or remove password_file to use client credentials")
	}
	if k.Required("pms.charge.cashier_id", c.Charge.CashierID, "give the cashier id (a number) of the gateway's integration user in OPERA Cloud") && !digitsRe.MatchString(c.Charge.CashierID) {
		k.Add("pms.charge.cashier_id", "%q is not a cashier id: OPERA Cloud cashier ids are numbers", c.Charge.CashierID)
	}
	if len(c.Charge.TransactionCodes) == 0 {
		k.Add("pms.charge.transaction_codes", `missing: map each tariff class to an OPERA revenue transaction code, like {international: "9100", national: "9110", local: "9120", mobile: "9130"}`)
	}
	classes := make([]string, 0, len(c.Charge.TransactionCodes))
	for class := range c.Charge.TransactionCodes {
		classes = append(classes, class)
	}
	sort.Strings(classes)
	for _, class := range classes {
		if code := c.Charge.TransactionCodes[class]; code == "" || len(code) > 80 {
			k.Add("pms.charge.transaction_codes."+class, "%q is not a transaction code: give the OPERA revenue transaction code (1 to 80 characters) calls of class %s are posted with", code, class)
		}
	}
	if c.PollS < 5 || c.PollS > 3600 {
		k.Add("pms.poll_s", "%d is not from 5 to 3600: it is the seconds between two reads of the in-house reservations", c.PollS)
	}
	if c.AnswerTimeoutS < 5 || c.AnswerTimeoutS > 300 {
		k.Add("pms.answer_timeout_s", "%d is not from 5 to 300: it is the seconds a request waits for OPERA Cloud's answer", c.AnswerTimeoutS)
	}
	if c.RatePerS < 1 || c.RatePerS > 50 {
		k.Add("pms.rate_per_s", "%d is not from 1 to 50: it is the most requests a second the gateway sends (OHIP throttles above 50 per environment)", c.RatePerS)
	}
	if len(c.ExternalSystem) > 40 {
		k.Add("pms.external_system", "%q is longer than 40 characters (OHIP x-externalsystem)", c.ExternalSystem)
	}
}

func checkURL(k *gateway.Checker, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		k.Add(key, "%q is not an address like https://xxxx-ohip.oracleindustry.com", raw)
		return
	}
	if u.Scheme == "http" && !gateway.LoopbackHost(u.Hostname()) {
		k.Add(key, "%q is plain http: OHIP is reached over https (plain http only on this machine, for the simulator)", raw)
	}
}

// readSecretFile reads a secret file, trimmed (a file written by echo ends
// with a newline).
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the secret file %s: %v; check the path and that the gateway's user may read it", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("the secret file %s is empty: write the secret into it", path)
	}
	return s, nil
}

// secret returns the secret in file, or else in the environment variable env.
func secret(file, env, what string) (string, error) {
	if file != "" {
		return readSecretFile(file)
	}
	if s := strings.TrimSpace(os.Getenv(env)); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("no %s: name its file in the config or set the environment variable %s", what, env)
}

// Secrets returns the client secret and, with pms.auth.username, the
// integration user's password, read from their files (trimmed) or else
// from the environment variables SecretEnv and PasswordEnv.
func (c Config) Secrets() (clientSecret, password string, err error) {
	if clientSecret, err = secret(c.Auth.ClientSecretFile, SecretEnv, "OHIP client secret"); err != nil {
		return "", "", gateway.Wrap(gateway.KindInvalid, err, "pms.auth.client_secret_file")
	}
	if c.Auth.Username != "" {
		if password, err = secret(c.Auth.PasswordFile, PasswordEnv, "integration user password"); err != nil {
			return "", "", gateway.Wrap(gateway.KindInvalid, err, "pms.auth.password_file")
		}
	}
	return clientSecret, password, nil
}

// ResolvePaths makes the secret files' names absolute with resolve (against
// the config file's folder).
func (c *Config) ResolvePaths(resolve func(string) string) {
	c.Auth.ClientSecretFile = resolve(c.Auth.ClientSecretFile)
	c.Auth.PasswordFile = resolve(c.Auth.PasswordFile)
}
