package apaleo

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"callgate/gateway"
)

// Config is the pms section of the gateway's config file for apaleo
// (docs/pms-apaleo.md, "Configuration").
type Config struct {
	Protocol string `yaml:"protocol"` // apaleo
	// BaseURL is the API's root; default https://api.apaleo.com.
	BaseURL string `yaml:"base_url"`
	// Property is the apaleo property id (e.g. MUC).
	Property string       `yaml:"property"`
	Auth     AuthConfig   `yaml:"auth"`
	Charge   ChargeConfig `yaml:"charge"`
	// PollS is the seconds between two readings of the in-house
	// reservations (default 60).
	PollS int `yaml:"poll_s"`
	// AnswerTimeoutS is how long a charge waits for apaleo's answer before
	// it is in doubt (default 30).
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// RequestsPerS is the most requests per second the link sends, over all
	// endpoints (default 5): apaleo publishes no number.
	RequestsPerS int `yaml:"requests_per_s"`
}

// AuthConfig is pms.auth: OAuth2 client credentials.
type AuthConfig struct {
	// TokenURL is the identity server's token endpoint; default
	// https://identity.apaleo.com/connect/token.
	TokenURL string `yaml:"token_url"`
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client secret (read trimmed). When empty,
	// the secret comes from the environment variable SecretEnv.
	ClientSecretFile string `yaml:"client_secret_file"`
	// Scope is the scopes to ask for, space-separated; "" asks for the
	// client's default scopes.
	Scope string `yaml:"scope"`
}

// SecretEnv is the environment variable that holds the client secret when
// pms.auth.client_secret_file is not given.
const SecretEnv = "CALLGATE_APALEO_CLIENT_SECRET"

// ChargeConfig is pms.charge: how a call is written on the folio.
type ChargeConfig struct {
	// ServiceType is the charge's service type (default Other).
	ServiceType string `yaml:"service_type"`
	// VatType is the charge's VAT type (default Normal).
	VatType string `yaml:"vat_type"`
	// SubAccountID is the sub-account the charges go to; "" for the
	// property's default revenue account.
	SubAccountID string `yaml:"sub_account_id"`
	// SubAccounts maps the tariff's classes (international, national,
	// local, mobile, …) to sub-accounts. When given, a call whose class is
	// missing from it is an exception naming the key to add.
	SubAccounts map[string]string `yaml:"sub_accounts"`
	// NamePrefix starts the charge's name on the folio (default
	// "Telephone").
	NamePrefix string `yaml:"name_prefix"`
}

// The defaults of the section.
const (
	DefaultBaseURL      = "https://api.apaleo.com"
	DefaultTokenURL     = "https://identity.apaleo.com/connect/token"
	DefaultPollS        = 60
	DefaultAnswerS      = 30
	DefaultRequestsPerS = 5
)

// DefaultConfig returns the settings a pms section for apaleo starts from.
func DefaultConfig() Config {
	return Config{
		Protocol:       "apaleo",
		BaseURL:        DefaultBaseURL,
		Auth:           AuthConfig{TokenURL: DefaultTokenURL},
		Charge:         ChargeConfig{ServiceType: "Other", VatType: "Normal", NamePrefix: "Telephone"},
		PollS:          DefaultPollS,
		AnswerTimeoutS: DefaultAnswerS,
		RequestsPerS:   DefaultRequestsPerS,
	}
}

// ServiceTypes and VatTypes are the values apaleo's charge accepts.
var (
	ServiceTypes = []string{"Other", "Accommodation", "FoodAndBeverages"}
	VatTypes     = []string{"Null", "VeryReduced", "Reduced", "Normal", "Without", "Special", "ReducedCovid", "NormalCovid"}
)

// Check records the section's problems, under pms.
func (c *Config) Check(k *gateway.Checker) {
	k.OneOf("pms.protocol", c.Protocol, []string{"apaleo"})
	checkURL(k, "pms.base_url", c.BaseURL)
	if k.Required("pms.property", c.Property, `the apaleo property id the calls are charged in (e.g. "MUC"), as shown in apaleo's account`) &&
		(len(c.Property) > 20 || strings.Trim(c.Property, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "") {
		k.Add("pms.property", "%q is not an apaleo property id (letters and digits, like MUC)", c.Property)
	}
	checkURL(k, "pms.auth.token_url", c.Auth.TokenURL)
	k.Required("pms.auth.client_id", c.Auth.ClientID, "the client id of the app registered in apaleo for callgate (client credentials)")
	if c.Auth.ClientSecretFile != "" {
		if _, err := readSecret(c.Auth.ClientSecretFile); err != nil {
			k.Add("pms.auth.client_secret_file", "%v", err)
		}
	} else if strings.TrimSpace(os.Getenv(SecretEnv)) == "" {
		k.Add("pms.auth.client_secret_file", "missing: give the file holding the apaleo client secret (or set the environment variable %s)", SecretEnv)
	}
	k.OneOf("pms.charge.service_type", c.Charge.ServiceType, ServiceTypes)
	k.OneOf("pms.charge.vat_type", c.Charge.VatType, VatTypes)
	for class, id := range c.Charge.SubAccounts {
		if strings.TrimSpace(id) == "" {
			k.Add("pms.charge.sub_accounts."+class, "empty: give the apaleo sub-account id for %s calls, or remove the line", class)
		}
	}
	if len(c.Charge.NamePrefix) > 40 {
		k.Add("pms.charge.name_prefix", "%q is longer than 40 characters", c.Charge.NamePrefix)
	}
	if c.PollS < 5 || c.PollS > 3600 {
		k.Add("pms.poll_s", "%d is not from 5 to 3600: it is the seconds between two readings of the in-house reservations", c.PollS)
	}
	if c.AnswerTimeoutS < 5 || c.AnswerTimeoutS > 300 {
		k.Add("pms.answer_timeout_s", "%d is not from 5 to 300: it is the seconds a charge waits for apaleo's answer", c.AnswerTimeoutS)
	}
	if c.RequestsPerS < 1 || c.RequestsPerS > 50 {
		k.Add("pms.requests_per_s", "%d is not from 1 to 50: it is the most requests per second the gateway sends to apaleo", c.RequestsPerS)
	}
}

func checkURL(k *gateway.Checker, key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		k.Add(key, "%q is not a URL like https://api.apaleo.com", s)
		return
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		k.Add(key, "%q is plain http: apaleo is reached over https (http only for a simulator on this machine)", s)
	}
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// readSecret reads a secret file, trimmed (a file written by echo ends with
// a newline). The secret itself never appears in an error.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the client secret from %s: %v; write the apaleo client secret into that file (readable by the gateway's user)", path, unwrapPath(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty: write the apaleo client secret into it", path)
	}
	return s, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// ResolvePaths makes the secret file's name absolute with resolve (against
// the config file's folder).
func (c *Config) ResolvePaths(resolve func(string) string) {
	c.Auth.ClientSecretFile = resolve(c.Auth.ClientSecretFile)
}

// Secret returns the client secret: from pms.auth.client_secret_file, or
// from the environment variable SecretEnv.
func (c Config) Secret() (string, error) {
	if c.Auth.ClientSecretFile != "" {
		return readSecret(c.Auth.ClientSecretFile)
	}
	if s := strings.TrimSpace(os.Getenv(SecretEnv)); s != "" {
		return s, nil
	}
	return "", gateway.Errorf(gateway.KindInvalid, "no apaleo client secret: give pms.auth.client_secret_file or set the environment variable %s", SecretEnv)
}
