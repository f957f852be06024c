package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The console's handler tests are in gateway/console, on gatewaytest's
// in-memory journal. What stays here is cmd's part: the console's config
// keys, the carriers' tariff files, and the browser client and password that
// the tests of a whole gateway (serve_reports_test.go, browser_test.go) use.

const testPassword = "correct horse battery"

// client is a browser: a cookie jar, redirects not followed.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) get(path string) (int, string, http.Header) {
	c.t.Helper()
	res, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return res.StatusCode, string(b), res.Header
}

func (c *client) post(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	res, err := c.hc.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func (c *client) login(user, password string) int {
	c.t.Helper()
	c.get("/login")
	code, _, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {user}, "password": {password}})
	if code == http.StatusSeeOther {
		c.get("/") // a page with the token
	}
	return code
}

func TestConsoleConfigKeys(t *testing.T) {
	base := strings.Replace(goodConfig, "/dev/ttyUSB0", ptyDevice(t), 1)
	_, err := LoadConfig(writeConfig(t, base+"console: {listen: \"127.0.0.1:0\", tls_cert: cert.pem}\n"))
	if err == nil || !strings.Contains(err.Error(), "console.tls_cert") {
		t.Errorf("a cert without a key: %v", err)
	}
	_, err = LoadConfig(writeConfig(t, base+"console: {listen: \"127.0.0.1:0\", mask_digits: -1}\n"))
	if err == nil || !strings.Contains(fmt.Sprint(err), "console.mask_digits") {
		t.Errorf("negative mask_digits: %v", err)
	}
	c, err := LoadConfig(writeConfig(t, base))
	if err != nil || c.Console.MaskDigits != 4 || c.Console.Listen != "127.0.0.1:8080" {
		t.Errorf("defaults: %+v %v", c.Console, err)
	}
}

// TestLoadCarriers: the carriers report's alternative tariffs are the
// config's files, each named in the report by its file's name; a file that
// does not load is an error that names it.
func TestLoadCarriers(t *testing.T) {
	rs, err := loadCarriers(func(p string) string { return p }, []string{"../../configs/tariffs/usa.yaml"})
	if err != nil || len(rs) != 1 || rs[0].Name != "usa.yaml" || rs[0].Rater == nil {
		t.Fatalf("carriers %+v, %v", rs, err)
	}
	missing := filepath.Join(t.TempDir(), "carrier-b.yaml")
	if _, err := loadCarriers(func(p string) string { return p }, []string{missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a tariff file that does not load: %v", err)
	}
}
