package ship

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// writeFile writes s to a file in a temporary folder and returns its path.
func writeFile(t *testing.T, name, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsDouble serves d over HTTPS on loopback and returns a client that
// trusts its certificate through a CA file, as central.ca_file does.
func tlsDouble(t *testing.T, d *double, timeout time.Duration) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewTLSServer(d)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := NewClient(ClientConfig{URL: srv.URL, TokenFile: writeFile(t, "token", "\n  "+d.token+"  \n"),
		CAFile: writeFile(t, "ca.pem", string(ca)), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, c
}

// TestClientShips: a batch goes over HTTPS (the CA from ca_file, the token
// trimmed from token_file) and the central's cursor comes back; a batch
// after a gap comes back as *gateway.ShipGapError with the cursor.
func TestClientShips(t *testing.T) {
	d := newDouble(t)
	_, c := tlsDouble(t, d, 5*time.Second)
	ctx := context.Background()
	evs := events(1, 10, [32]byte{})
	ack, err := c.Ship(ctx, gateway.ShipBatch{Epoch: testEpoch, Events: evs[:6]})
	if err != nil || ack.Cursor != 6 || ack.Epoch != testEpoch || ack.At.IsZero() {
		t.Fatalf("first batch: %+v %v", ack, err)
	}
	if a, err := c.Cursor(ctx, testEpoch); err != nil || a.Cursor != 6 {
		t.Fatalf("cursor: %+v %v", a, err)
	}
	_, err = c.Ship(ctx, gateway.ShipBatch{Epoch: testEpoch, Events: evs[7:], PrevHash: evs[6].Hash})
	var gap *gateway.ShipGapError
	if !errors.As(err, &gap) || gap.Cursor != 6 || gap.First != 8 || gap.Epoch != testEpoch {
		t.Fatalf("a batch after a gap: %v", err)
	}
	// Overlapping the cursor is taken: the overlap is skipped.
	ack, err = c.Ship(ctx, gateway.ShipBatch{Epoch: testEpoch, Events: evs[4:], PrevHash: evs[3].Hash})
	if err != nil || ack.Cursor != 10 {
		t.Fatalf("an overlapping batch: %+v %v", ack, err)
	}
	d.holds(t, testEpoch, evs)
}

// TestClientStatuses: every status of docs/central.md's table becomes the
// error kind the shipper acts on, with a sentence, and never the token.
func TestClientStatuses(t *testing.T) {
	evs := events(1, 3, [32]byte{})
	for _, tc := range []struct {
		fault string
		kind  gateway.Kind
		is    error
		says  string
	}{
		{"500", gateway.KindTransient, nil, "PostgreSQL is restarting"},
		{"cut", gateway.KindTransient, nil, "cannot be reached"},
		{"slow", gateway.KindTransient, nil, "cannot be reached"},
		{"413", gateway.KindInvalid, ErrTooLarge, "too large"},
		{"422", gateway.KindRejected, ErrChain, "hash chain"},
		{"401", gateway.KindRejected, nil, "central.token_file"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			d := newDouble(t)
			d.fault = func(int, gateway.ShipBatch) string { return tc.fault }
			timeout := 10 * time.Second
			if tc.fault == "slow" {
				timeout = 300 * time.Millisecond
			}
			_, c := tlsDouble(t, d, timeout)
			_, err := c.Ship(context.Background(), gateway.ShipBatch{Epoch: testEpoch, Events: evs})
			if err == nil || gateway.KindOf(err) != tc.kind || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v (%v), want %v saying %q", err, gateway.KindOf(err), tc.kind, tc.says)
			}
			d.noToken(t, err.Error())
		})
	}
	// A wrong token is refused by the central itself.
	d := newDouble(t)
	srv, _ := tlsDouble(t, d, time.Second)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := NewClient(ClientConfig{URL: srv.URL, TokenFile: writeFile(t, "token", "wrong"), CAFile: writeFile(t, "ca.pem", string(ca))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ship(context.Background(), gateway.ShipBatch{Epoch: testEpoch, Events: evs}); !gateway.IsKind(err, gateway.KindRejected) || !strings.Contains(err.Error(), "token") {
		t.Fatalf("wrong token: %v", err)
	}
	// A central whose certificate no trusted CA vouches for (here: the
	// system's roots, no ca_file) is not spoken to.
	c, _ = NewClient(ClientConfig{URL: srv.URL, TokenFile: writeFile(t, "token", d.token)})
	if _, err := c.Ship(context.Background(), gateway.ShipBatch{Epoch: testEpoch, Events: evs}); !gateway.IsTransient(err) || d.cursor(testEpoch) != 0 {
		t.Fatalf("an unknown certificate: %v", err)
	} else {
		d.noToken(t, err.Error())
	}
	// Statuses a central answers without a Refusal body keep a sentence.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer plain.Close()
	c, _ = NewClient(ClientConfig{URL: plain.URL, TokenFile: writeFile(t, "token", d.token)})
	if _, err := c.Ship(context.Background(), gateway.ShipBatch{Epoch: testEpoch, Events: evs}); !gateway.IsKind(err, gateway.KindRejected) || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("403: %v", err)
	}
}

// TestClientConfig: central.url must be https except to loopback; the
// token file must hold one token; the CA file a certificate.
func TestClientConfig(t *testing.T) {
	tok := writeFile(t, "token", "abc\n")
	for _, tc := range []struct {
		cfg  ClientConfig
		says string
	}{
		{ClientConfig{URL: "http://central.example.com", TokenFile: tok}, "use https"},
		{ClientConfig{URL: "ftp://central.example.com", TokenFile: tok}, "not a web address"},
		{ClientConfig{URL: "central.example.com", TokenFile: tok}, "not a web address"},
		{ClientConfig{URL: "https://u:p@central.example.com", TokenFile: tok}, "user or password"},
		{ClientConfig{URL: "https://central.example.com", TokenFile: filepath.Join(t.TempDir(), "none")}, "cannot be read"},
		{ClientConfig{URL: "https://central.example.com", TokenFile: writeFile(t, "t2", "  \n")}, "does not hold one token"},
		{ClientConfig{URL: "https://central.example.com", TokenFile: writeFile(t, "t3", "a b")}, "does not hold one token"},
		{ClientConfig{URL: "https://central.example.com", TokenFile: tok, CAFile: writeFile(t, "ca", "not pem")}, "no PEM certificate"},
	} {
		if _, err := NewClient(tc.cfg); !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.says)
		}
	}
	for _, ok := range []string{"http://127.0.0.1:8443", "http://localhost:1", "http://[::1]:80/central", "https://central.example.com:8443"} {
		if _, err := NewClient(ClientConfig{URL: ok, TokenFile: tok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
