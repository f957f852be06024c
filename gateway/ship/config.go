package ship

import (
	"crypto/tls"
	"strings"
	"time"

	"callgate/gateway"
)

// Config is the central section of a property's config file
// (docs/central.md, "The property's side"): where its journal is shipped.
// Shipping is off without a url.
type Config struct {
	// URL is the central's address: https://central.example.com:8443
	// (http only to a loopback address).
	URL string `yaml:"url"`
	// Property is the property's name at the central, as given to
	// `gateway central property add`: shown in the status and logs (the
	// central knows the property from its token).
	Property string `yaml:"property"`
	// TokenFile holds the property's token, alone (read trimmed).
	TokenFile string `yaml:"token_file"`
	// CAFile, if set, is the PEM root CA of the central's certificate.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the property's client certificate and key
	// (PEM), for a central that asks for one (its central.client_ca).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// BatchMax is the most events a batch carries (default 5,000; 1 to
	// 10,000).
	BatchMax int `yaml:"batch_max"`
	// ShipGuestNames sends the guests' names and personal data beside the
	// events (default false: the central needs rooms and stays, not names;
	// older guest events holding personal data then go sealed,
	// docs/central.md "Guest data").
	ShipGuestNames bool `yaml:"ship_guest_names"`
}

// Enabled reports whether a central is configured.
func (c Config) Enabled() bool { return c.URL != "" }

// Check records the section's problems, under central; resolve makes a
// file name of the config absolute.
func (c Config) Check(k *gateway.Checker, resolve func(string) string) {
	if !c.Enabled() {
		if c.Property != "" || c.TokenFile != "" || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.BatchMax != 0 || c.ShipGuestNames {
			k.Add("central.url", "missing: the central's address (https://…), or remove the central section to ship nothing")
		}
		return
	}
	if _, err := CheckURL(c.URL); err != nil {
		k.Add("central.url", "%s", strings.TrimPrefix(err.Error(), "central.url "))
	}
	if k.Required("central.property", strings.TrimSpace(c.Property), "the property's name at the central, as given to gateway central property add") &&
		strings.ContainsAny(c.Property, "\r\n\t") {
		k.Add("central.property", "%q holds a tab or line break", c.Property)
	}
	if k.Required("central.token_file", c.TokenFile, "the file holding the property's token (gateway central property add prints it)") {
		if _, err := ReadToken(resolve(c.TokenFile)); err != nil {
			k.Add("central.token_file", "%s", strings.TrimPrefix(err.Error(), "central.token_file "))
		}
	}
	if c.CAFile != "" {
		if _, err := CAPool(resolve(c.CAFile)); err != nil {
			k.Add("central.ca_file", "%s", strings.TrimPrefix(err.Error(), "central.ca_file "))
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		k.Add("central.cert_file", "give both central.cert_file and central.key_file (the property's client certificate and its key), or neither")
	} else if c.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(resolve(c.CertFile), resolve(c.KeyFile)); err != nil {
			k.Add("central.cert_file", "cannot be loaded with central.key_file as a certificate and its key (PEM): %v", err)
		}
	}
	if c.BatchMax < 0 || c.BatchMax > MaxEvents {
		k.Add("central.batch_max", "%d: give the most events a batch carries, 1 to %d (default %d)", c.BatchMax, MaxEvents, ShipBatchMax)
	}
}

// ClientConfig returns the client's settings, files resolved.
func (c Config) ClientConfig(resolve func(string) string) ClientConfig {
	cc := ClientConfig{URL: c.URL, TokenFile: resolve(c.TokenFile), Property: c.Property, Timeout: 2 * time.Minute}
	if c.CAFile != "" {
		cc.CAFile = resolve(c.CAFile)
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cc.CertFile, cc.KeyFile = resolve(c.CertFile), resolve(c.KeyFile)
	}
	return cc
}
