package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"callgate/gateway/console"
	"callgate/internal/yamlstrict"
)

// EnvPostgres names the environment variable that gives the central's
// PostgreSQL connection string when central.postgres is not set (so that
// a password need not be in the file).
const EnvPostgres = "CALLGATE_POSTGRES"

// CentralFile is the central's config file (docs/central.md, "Operations"):
// it knows no PBX, PMS or tariff.
type CentralFile struct {
	Central CentralServerConfig `yaml:"central"`
	Console ConsoleConfig       `yaml:"console"`

	Path  string `yaml:"-"`
	lines yamlstrict.Lines
}

// CentralServerConfig is the central's own section.
type CentralServerConfig struct {
	// Listen is where properties ship to: HTTPS, or plain HTTP on a
	// loopback address only.
	Listen  string `yaml:"listen"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// ClientCA, when set, makes every property present a client
	// certificate signed by one of these CAs (PEM), besides its token.
	ClientCA string `yaml:"client_ca"`
	// Postgres is the connection string (postgres://… or key=value);
	// empty takes CALLGATE_POSTGRES.
	Postgres string `yaml:"postgres"`
}

// Resolve makes a file name of the config absolute, relative to the file.
func (c *CentralFile) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

// DSN is the PostgreSQL connection string: central.postgres or the
// environment's CALLGATE_POSTGRES.
func (c *CentralFile) DSN() string {
	if c.Central.Postgres != "" {
		return c.Central.Postgres
	}
	return os.Getenv(EnvPostgres)
}

// LoadCentralConfig reads and checks a central's config file.
func LoadCentralConfig(path string) (*CentralFile, error) {
	data, err := yamlstrict.ReadFile(path, yamlstrict.MaxYAML)
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	return ParseCentralConfig(data, path)
}

// ParseCentralConfig reads and checks a central's config from data.
func ParseCentralConfig(data []byte, path string) (*CentralFile, error) {
	c := &CentralFile{Console: console.DefaultConfig(), Path: path}
	res := yamlstrict.Decode(data, c)
	c.lines = res.Lines
	k := &checker{Line: c.lines.Of}
	for _, p := range res.Problems {
		k.Problems = append(k.Problems, Problem(p))
	}
	if res.Empty {
		k.Add("(file)", "the file is empty: a central's config needs central.listen and central.postgres (see docs/central.md)")
	}
	if res.Partial || res.Empty {
		return nil, k.Problems
	}
	c.check(k)
	if len(k.Problems) > 0 {
		return c, k.Problems
	}
	return c, nil
}

func (c *CentralFile) check(k *checker) {
	s := c.Central
	if k.Required("central.listen", s.Listen, "the address properties ship to, e.g. 0.0.0.0:8443 (with TLS) or 127.0.0.1:8443") {
		k.HostPort("central.listen", s.Listen, false)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		k.Add("central.tls_cert", "give both central.tls_cert and central.tls_key, or neither")
	} else if s.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.Resolve(s.TLSCert), c.Resolve(s.TLSKey)); err != nil {
			k.Add("central.tls_cert", "the certificate and key cannot be loaded as a pair: %v", err)
		}
	}
	if s.Listen != "" && s.TLSCert == "" && !loopbackListen(s.Listen) {
		k.Add("central.listen", "%s is not a loopback address, and properties' tokens must not cross a network in clear: set central.tls_cert and central.tls_key, or listen on 127.0.0.1", s.Listen)
	}
	if s.ClientCA != "" {
		if s.TLSCert == "" {
			k.Add("central.client_ca", "client certificates need TLS: set central.tls_cert and central.tls_key too")
		}
		if _, err := loadCAPool(c.Resolve(s.ClientCA)); err != nil {
			k.Add("central.client_ca", "%v", err)
		}
	}
	if c.DSN() == "" {
		k.Add("central.postgres", "missing: the PostgreSQL connection string, e.g. postgres://callgate@db.example:5432/callgate, here or in the environment variable %s", EnvPostgres)
	}
	c.Console.Check(k, c.Resolve)
}

// loopbackListen reports whether addr listens only on a loopback address.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the client CA file cannot be read: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the client CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// isCentralConfig reports whether data is a central's config: a central
// section with the central's own keys, and none of a property's sections.
func isCentralConfig(data []byte) bool {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return false
	}
	cen, ok := top["central"].(map[string]any)
	if !ok {
		return false
	}
	for _, k := range []string{"site", "store", "pbx", "pms", "tariff"} {
		if _, ok := top[k]; ok {
			return false
		}
	}
	for k := range cen {
		if k == "listen" || k == "postgres" || k == "tls_key" || k == "client_ca" {
			return true
		}
	}
	return false
}

// checkCentralFile checks path for gateway check when it is a central's
// config (central reports false otherwise, and check goes on with a
// property's config).
func checkCentralFile(a *app, path string) (central bool, err error) {
	data, err := yamlstrict.ReadFile(path, yamlstrict.MaxYAML)
	if err != nil || !isCentralConfig(data) {
		return false, nil
	}
	_, err = ParseCentralConfig(data, path)
	var ps Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(a.stdout, p)
		}
		fmt.Fprintf(a.stderr, "gateway: %s (a central's config) has %s: fix them and run gateway check again\n", path, count(len(ps), "problem"))
		return true, exitError{1}
	}
	if err != nil {
		return true, err
	}
	fmt.Fprintln(a.stdout, "central config OK")
	return true, nil
}
