package ship

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"callgate/gateway"
)

// Client is the property's gateway.CentralSink over HTTPS (docs/central.md,
// "Protocol"): it posts gzip'd batches with the property's Bearer token and
// turns the central's statuses into the gateway's error kinds. It never
// logs or prints the token.
type Client struct {
	base     *url.URL
	token    string
	property string
	hc       *http.Client
}

var (
	_ gateway.CentralSink = (*Client)(nil)
	_ CentralProber       = (*Client)(nil)
)

// ClientConfig is what NewClient needs: central.url, central.token_file,
// central.ca_file of the property's config.
type ClientConfig struct {
	URL       string
	TokenFile string
	// Property is central.property, sent with every request so that the
	// central refuses a token of another property's.
	Property string
	// CertFile and KeyFile, if set, are the property's client certificate
	// and key (PEM), for a central that asks for one (central.client_ca).
	CertFile, KeyFile string
	// CAFile, if set, is the PEM file of the root CA the central's
	// certificate must chain to (instead of the system's roots).
	CAFile string
	// Timeout bounds each request, from connecting to the answer's last
	// byte (default 2 min: a batch of 5,000 events over a slow line).
	Timeout time.Duration
}

// CheckURL checks a central.url: https, or http on a loopback address
// only. It returns the parsed URL.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, gateway.Errorf(gateway.KindInvalid, "central.url %q is not a web address like https://central.example.com:8443", clip(raw))
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, gateway.Errorf(gateway.KindInvalid, "central.url %s is plain http to another machine: the journal would cross the network unencrypted; use https (http is allowed only to a loopback address)", u.Redacted())
	}
	if u.User != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "central.url must not carry a user or password: the property authenticates with central.token_file")
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReadToken reads a token file: its content, trimmed, not empty.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", gateway.Errorf(gateway.KindInvalid, "central.token_file %s cannot be read (%v): put the token `gateway central property add` printed in it, readable by the gateway's user", path, errors.Unwrap(err))
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", gateway.Errorf(gateway.KindInvalid, "central.token_file %s does not hold one token: put the token `gateway central property add` printed in it, alone", path)
	}
	return tok, nil
}

// CAPool reads a PEM file of root certificates.
func CAPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "central.ca_file %s cannot be read (%v)", path, errors.Unwrap(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, gateway.Errorf(gateway.KindInvalid, "central.ca_file %s holds no PEM certificate: give the CA certificate that signed the central's", path)
	}
	return pool, nil
}

// NewClient checks the config, reads the token and the CA, and returns the
// client.
func NewClient(c ClientConfig) (*Client, error) {
	u, err := CheckURL(c.URL)
	if err != nil {
		return nil, err
	}
	tok, err := ReadToken(c.TokenFile)
	if err != nil {
		return nil, err
	}
	// The transport honours HTTPS_PROXY and NO_PROXY, as a hotel's network
	// may require (never for a loopback address).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := CAPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "central.cert_file and central.key_file cannot be loaded as a certificate and its key (PEM): %v", err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	return &Client{base: u, token: tok, property: strings.TrimSpace(c.Property), hc: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func (c *Client) endpoint(path string) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = ""
	return u.String()
}

// Ship posts a batch; see gateway.CentralSink.
func (c *Client) Ship(ctx context.Context, b gateway.ShipBatch) (gateway.ShipAck, error) {
	body, err := EncodeBatch(b)
	if err != nil {
		return gateway.ShipAck{}, err
	}
	if len(body) > MaxCompressedBytes {
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindInvalid, ErrTooLarge, fmt.Sprintf("the batch is %d MiB compressed, over the %d MiB a central takes", len(body)>>20, MaxCompressedBytes>>20))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(PathBatch), bytes.NewReader(body))
	if err != nil {
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindInvalid, err, "central.url cannot be used")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	first := b.Events[0].Seq
	return c.do(req, b.Epoch, first)
}

// Cursor asks the central's cursor for epoch (GET /v1/cursor).
func (c *Client) Cursor(ctx context.Context, epoch string) (gateway.ShipAck, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(PathCursor)+"?epoch="+url.QueryEscape(epoch), nil)
	if err != nil {
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindInvalid, err, "central.url cannot be used")
	}
	return c.do(req, epoch, 0)
}

// do sends req and reads the answer: an Ack, or a Refusal turned into an
// error as docs/central.md's table says.
func (c *Client) do(req *http.Request, epoch string, first uint64) (gateway.ShipAck, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if c.property != "" {
		req.Header.Set(PropertyHeader, c.property)
	}
	where := c.base.Redacted()
	resp, err := c.hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return gateway.ShipAck{}, gateway.Wrap(gateway.KindTransient, req.Context().Err(), "shipping was stopped")
		}
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindTransient, scrub(err, c.token), fmt.Sprintf("the central %s cannot be reached (the WAN or the central is down; the shipper retries)", where))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("the central %s's answer was cut off (the shipper retries)", where))
	}
	return readAnswer(resp.StatusCode, data, where, epoch, first)
}

// readAnswer reads the central's answer (status and body) to a request for
// epoch whose batch began at first (0 for a cursor question): an Ack, or a
// Refusal turned into an error as docs/central.md's table says. where
// names the central in sentences.
func readAnswer(status int, data []byte, where, epoch string, first uint64) (gateway.ShipAck, error) {
	if status == http.StatusOK {
		var a Ack
		if err := json.Unmarshal(data, &a); err != nil || a.Epoch == "" {
			return gateway.ShipAck{}, gateway.Errorf(gateway.KindTransient, "the central %s answered 200 without its cursor: is central.url a callgate central?", where)
		}
		if a.Epoch != epoch {
			return gateway.ShipAck{}, gateway.Errorf(gateway.KindRejected, "the central %s answered for epoch %q, and the request was for epoch %s: is central.url a callgate central?", where, clip(a.Epoch), epoch)
		}
		return a.ShipAck()
	}
	var ref Refusal
	_ = json.Unmarshal(data, &ref) // a refusal without JSON keeps its status
	said := strings.TrimSpace(ref.Error)
	if said == "" {
		said = http.StatusText(status)
	}
	said = clipText(said, 300)
	switch s := status; {
	case s == http.StatusConflict:
		if ref.Epoch != epoch {
			ref.Epoch = epoch // the central's cursor is for the epoch asked
		}
		return gateway.ShipAck{}, &gateway.ShipGapError{Epoch: ref.Epoch, Cursor: ref.Cursor, First: first}
	case s == http.StatusRequestEntityTooLarge:
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindInvalid, ErrTooLarge, "the central refused the batch as too large: "+said)
	case s == http.StatusUnprocessableEntity:
		return gateway.ShipAck{}, gateway.Wrap(gateway.KindRejected, ErrChain, "the central refused the batch's hash chain: "+said)
	case s == http.StatusUnauthorized:
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindRejected, "the central %s does not know this property's token (%s): check central.token_file holds the token `gateway central property add` printed", where, said)
	case s == http.StatusForbidden:
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindRejected, "the central %s refuses this property (%s): ask the central's administrator whether it is disabled", where, said)
	case s == http.StatusBadRequest && (strings.Contains(said, "wire version") || strings.Contains(said, "unknown field")):
		// A central older than this property refuses the newer batch
		// format (docs/central.md, "Upgrading").
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "the central %s runs an older callgate than this property and cannot read its batches (%s): upgrade the central first, then the properties; the events wait here meanwhile", where, said)
	case s == http.StatusBadRequest:
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindInvalid, "the central %s refused the batch as malformed (%s): run the same callgate version at the property and the central", where, said)
	case s >= 500:
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindTransient, "the central %s failed (HTTP %d: %s); the shipper retries", where, s, said)
	default:
		return gateway.ShipAck{}, gateway.Errorf(gateway.KindRejected, "the central %s answered HTTP %d (%s): check central.url names a callgate central", where, s, said)
	}
}

// scrub removes the token from an error's text, should a transport ever
// quote a header.
func scrub(err error, token string) error {
	if token != "" && strings.Contains(err.Error(), token) {
		return errors.New(strings.ReplaceAll(err.Error(), token, "…"))
	}
	return err
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
