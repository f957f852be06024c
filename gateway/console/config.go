package console

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"callgate/gateway"
)

// Config is the console section of the gateway's config file: the web
// console's listener and its settings.
type Config struct {
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey, both set, serve the console (and /metrics,
	// /healthz) over TLS with these PEM files.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MaskDigits is how many leading digits of a dialed number the front
	// desk sees on pages (the rest shown as x).
	MaskDigits int `yaml:"mask_digits"`
}

// DefaultConfig returns the settings a console section starts from.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:8080", MaskDigits: 4} }

// Check records the section's problems, under console; resolve makes a
// file name of the config absolute.
func (c Config) Check(k *gateway.Checker, resolve func(string) string) {
	if k.Required("console.listen", c.Listen, "the console's address, e.g. 127.0.0.1:8080") {
		k.HostPort("console.listen", c.Listen, false)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		k.Add("console.tls_cert", "give both console.tls_cert and console.tls_key, or neither")
	}
	for key, f := range map[string]string{"console.tls_cert": c.TLSCert, "console.tls_key": c.TLSKey} {
		if f != "" {
			if _, err := os.Stat(resolve(f)); err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				k.Add(key, "cannot read %s: %v", resolve(f), err)
			}
		}
	}
	if c.MaskDigits < 0 || c.MaskDigits > 20 {
		k.Add("console.mask_digits", "%d: give how many leading digits (0 to 20) of a dialed number the front desk sees", c.MaskDigits)
	}
}

// TLSConfig returns the TLS settings of the console's listener, nil when it
// serves plain HTTP; resolve makes a file name of the config absolute.
func (c Config) TLSConfig(resolve func(string) string) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(resolve(c.TLSCert), resolve(c.TLSKey))
	if err != nil {
		return nil, fmt.Errorf("console.tls_cert, console.tls_key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
