package ship_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/ship"
	"callgate/internal/testutil"
)

const token = "cgp_secret-token-of-grand"

type central struct {
	fake *gatewaytest.Central
	srv  *httptest.Server
	logs *testutil.Buffer
}

func newCentral(t *testing.T) *central {
	c := &central{fake: gatewaytest.NewCentral(), logs: &testutil.Buffer{}}
	c.fake.AddProperty("grand", token)
	c.fake.AddProperty("closed", "cgp_token-of-closed")
	c.fake.Disable("closed")
	log := zerolog.New(c.logs).Level(zerolog.DebugLevel)
	c.srv = httptest.NewServer(ship.NewServer(c.fake, c.fake, c.fake, log))
	t.Cleanup(c.srv.Close)
	return c
}

// post sends body to path with the token and returns the status and the
// decoded answer.
func (c *central) do(t *testing.T, method, path, tok string, body []byte) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON", method, path, b)
	}
	return resp.StatusCode, out
}

func encode(t *testing.T, b gateway.ShipBatch) []byte {
	t.Helper()
	body, err := ship.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func shipLog(epoch string, calls int, room string) *gatewaytest.ShipLog {
	l := gatewaytest.NewShipLog(epoch, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.UTC)
	for i := 0; i < calls; i++ {
		l.PostedCall(i, room, int64(100+i))
	}
	return l
}

// TestServerTakesBatches: batches posted in order are applied and answered
// with the cursor; the cursor question answers it too.
func TestServerTakesBatches(t *testing.T) {
	c := newCentral(t)
	l := shipLog("e1", 20, "101") // 100 events
	for _, r := range [][2]uint64{{1, 40}, {41, 100}, {41, 100}} {
		st, ans := c.do(t, http.MethodPost, ship.PathBatch, token, encode(t, l.Batch(r[0], r[1])))
		if st != http.StatusOK || ans["cursor"] != float64(r[1]) || ans["epoch"] != "e1" || ans["at"] == "" {
			t.Fatalf("batch %v: %d %v", r, st, ans)
		}
	}
	if n := len(c.fake.Events("grand", "e1")); n != 100 {
		t.Errorf("%d events held, want 100", n)
	}
	st, ans := c.do(t, http.MethodGet, ship.PathCursor+"?epoch=e1", token, nil)
	if st != http.StatusOK || ans["cursor"] != float64(100) {
		t.Errorf("cursor: %d %v", st, ans)
	}
	if st, ans := c.do(t, http.MethodGet, ship.PathCursor+"?epoch=other", token, nil); st != http.StatusOK || ans["cursor"] != float64(0) {
		t.Errorf("cursor of an unknown epoch: %d %v", st, ans)
	}
}

// TestServerRefuses: every refusal of docs/central.md's table, with its
// status and sentence, and nothing applied; the token is never logged.
func TestServerRefuses(t *testing.T) {
	c := newCentral(t)
	l := shipLog("e1", 10, "101")
	other := shipLog("e1", 10, "999")
	if st, _ := c.do(t, http.MethodPost, ship.PathBatch, token, encode(t, l.Batch(1, 10))); st != http.StatusOK {
		t.Fatalf("first batch: %d", st)
	}
	tampered := l.Batch(11, 20)
	tampered.Events[2].Body = bytes.Replace(tampered.Events[2].Body, []byte(`"to":"`), []byte(`"to":"x`), 1)
	// Over MaxEvents: refused before any event is read.
	var many bytes.Buffer
	zw := gzip.NewWriter(&many)
	zw.Write([]byte(`{"v":1,"epoch":"e1","prev_hash":"","site":{},"events":[`))
	for i := 0; i <= ship.MaxEvents; i++ {
		if i > 0 {
			zw.Write([]byte(","))
		}
		zw.Write([]byte(`{"hash":"","event":{}}`))
	}
	zw.Write([]byte(`]}`))
	zw.Close()
	for _, tc := range []struct {
		name, method, path, token string
		body                      []byte
		status                    int
		says                      string
	}{
		{"no token", http.MethodPost, ship.PathBatch, "", encode(t, l.Batch(11, 20)), 401, "central.token_file"},
		{"unknown token", http.MethodPost, ship.PathBatch, "cgp_wrong", encode(t, l.Batch(11, 20)), 401, "central.token_file"},
		{"disabled property", http.MethodPost, ship.PathBatch, "cgp_token-of-closed", encode(t, l.Batch(1, 10)), 403, "disabled"},
		{"malformed", http.MethodPost, ship.PathBatch, token, []byte(`{"v":1,"epoch":"e1","events":[{"nonsense":true}]}`), 400, "not the JSON"},
		{"not JSON", http.MethodPost, ship.PathBatch, token, []byte("hello"), 400, "not the JSON"},
		{"oversized on the wire", http.MethodPost, ship.PathBatch, token, bytes.Repeat([]byte(" "), ship.MaxCompressedBytes+1), 413, "central.batch_max"},
		{"too many events", http.MethodPost, ship.PathBatch, token, many.Bytes(), 413, "central.batch_max"},
		{"gap", http.MethodPost, ship.PathBatch, token, encode(t, l.Batch(15, 20)), 409, "resend from 11"},
		{"chain broken in the batch", http.MethodPost, ship.PathBatch, token, encode(t, tampered), 422, "gateway journal verify"},
		{"another journal", http.MethodPost, ship.PathBatch, token, encode(t, other.Batch(5, 20)), 422, "two journals"},
		{"a new journal continuing", http.MethodPost, ship.PathBatch, token, encode(t, other.Batch(11, 20)), 422, "chain"},
		{"GET a batch", http.MethodGet, ship.PathBatch, token, nil, 405, "POST"},
		{"cursor without epoch", http.MethodGet, ship.PathCursor, token, nil, 400, "epoch"},
		{"cursor without token", http.MethodGet, ship.PathCursor + "?epoch=e1", "", nil, 401, "token"},
		{"unknown path", http.MethodGet, "/v2/x", token, nil, 404, "/v1/batch"},
	} {
		st, ans := c.do(t, tc.method, tc.path, tc.token, tc.body)
		msg, _ := ans["error"].(string)
		if st != tc.status || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, st, msg, tc.status, tc.says)
		}
		if tc.name == "gap" && (ans["cursor"] != float64(10) || ans["epoch"] != "e1") {
			t.Errorf("gap: the answer %v does not name the cursor", ans)
		}
		if n := len(c.fake.Events("grand", "e1")); n != 10 {
			t.Fatalf("%s: %d events held, want the first batch's 10", tc.name, n)
		}
	}
	if c.fake.Applied != 1 {
		t.Errorf("%d batches applied, want 1", c.fake.Applied)
	}
	if strings.Contains(c.logs.String(), "secret-token") || strings.Contains(c.logs.String(), "cgp_wrong") {
		t.Errorf("a token is in the log:\n%s", c.logs.String())
	}
}

// TestServerRefusesAnotherPropertysToken: a shipper that names its
// property (central.property) with a token of another property's — a token
// file copied from the wrong hotel — is refused, and nothing is filed under
// the token's property.
func TestServerRefusesAnotherPropertysToken(t *testing.T) {
	c := newCentral(t)
	body := encode(t, shipLog("e1", 10, "101").Batch(1, 10))
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+ship.PathBatch, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(ship.PropertyHeader, "beach")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans ship.Refusal
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(ans.Error, "belongs to property grand") {
		t.Fatalf("%d %q, want 403 naming the token's property", resp.StatusCode, ans.Error)
	}
	if n := len(c.fake.Events("grand", "e1")); n != 0 {
		t.Fatalf("%d events filed under grand", n)
	}
	req, _ = http.NewRequest(http.MethodPost, c.srv.URL+ship.PathBatch, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(ship.PropertyHeader, "grand")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the property's own name: %v %v", resp, err)
	}
}

// transientApplier fails as PostgreSQL away does.
type transientApplier struct{ *gatewaytest.Central }

func (transientApplier) Apply(context.Context, string, gateway.ShipBatch) (gateway.ShipAck, error) {
	return gateway.ShipAck{}, gateway.Errorf(gateway.KindTransient, "PostgreSQL is not reachable for now")
}

// TestServerTransient: the store away answers 503 with Retry-After, so the
// shipper backs off and retries.
func TestServerTransient(t *testing.T) {
	fake := gatewaytest.NewCentral()
	fake.AddProperty("grand", token)
	srv := httptest.NewServer(ship.NewServer(transientApplier{fake}, fake, fake, zerolog.Nop()))
	defer srv.Close()
	body := encode(t, shipLog("e1", 1, "1").Batch(1, 5))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+ship.PathBatch, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// FuzzServerBatch: no body makes the handler panic or store events
// without answering 200 with the cursor.
func FuzzServerBatch(f *testing.F) {
	l := shipLog("e1", 2, "101")
	for _, b := range [][]byte{encodeSeed(l.Batch(1, 10)), encodeSeed(l.Batch(3, 5)), []byte(`{"v":1}`), {0x1f, 0x8b}, nil} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fake := gatewaytest.NewCentral()
		fake.AddProperty("grand", token)
		h := ship.NewServer(fake, fake, fake, zerolog.Nop())
		req := httptest.NewRequest(http.MethodPost, ship.PathBatch, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		held := len(fake.Events("grand", "e1"))
		if rec.Code != http.StatusOK && fake.Applied != 0 {
			t.Fatalf("answered %d and applied a batch", rec.Code)
		}
		var ack ship.Ack
		if rec.Code == http.StatusOK && (json.Unmarshal(rec.Body.Bytes(), &ack) != nil || (ack.Epoch == "e1" && ack.Cursor != uint64(held))) {
			t.Fatalf("200 with %q, %d events held", rec.Body.String(), held)
		}
	})
}

func encodeSeed(b gateway.ShipBatch) []byte {
	body, _ := ship.EncodeBatch(b) // the log's batches encode
	return body
}

// TestServerTestdata posts every batch of testdata/ (wire_test.go's cases)
// to the handler: the good ones are taken, every other is refused with
// 400, or 422 for a broken chain, and nothing of it is stored.
func TestServerTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("testdata: %d files, %v", len(files), err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := newCentral(t)
		st, ans := c.do(t, http.MethodPost, ship.PathBatch, token, body)
		_, decodeErr := ship.DecodeBatch(bytes.NewReader(body))
		held := 0
		for _, e := range []string{"e1", "5f0c2a4e-epoch"} {
			held += len(c.fake.Events("grand", e))
		}
		switch {
		case decodeErr == nil:
			if st != http.StatusOK && st != http.StatusConflict {
				t.Errorf("%s decodes, and the server answered %d %v", f, st, ans)
			}
		case errors.Is(decodeErr, ship.ErrChain):
			if st != http.StatusUnprocessableEntity {
				t.Errorf("%s: a broken chain answered %d, want 422", f, st)
			}
		case st != http.StatusBadRequest:
			t.Errorf("%s: %v answered %d, want 400", f, decodeErr, st)
		}
		if st != http.StatusOK && (held != 0 || c.fake.Applied != 0) {
			t.Errorf("%s: refused with %d and %d events stored", f, st, held)
		}
		if msg, _ := ans["error"].(string); st != http.StatusOK && msg == "" {
			t.Errorf("%s: refused without a sentence", f)
		}
	}
}

// waitingApplier blocks until the request's context ends and fails as the
// store does then.
type waitingApplier struct {
	*gatewaytest.Central
	entered chan struct{}
}

func (a waitingApplier) Apply(ctx context.Context, _ string, _ gateway.ShipBatch) (gateway.ShipAck, error) {
	close(a.entered)
	<-ctx.Done()
	return gateway.ShipAck{}, gateway.Errorf(gateway.KindTransient, "PostgreSQL is not reachable for now: %v", ctx.Err())
}

// TestServerPropertyGone: a property that goes away mid-batch (Ctrl-C, a
// cut line) is no error of the central's: logged at info, not as
// PostgreSQL unreachable at error level.
func TestServerPropertyGone(t *testing.T) {
	fake := gatewaytest.NewCentral()
	fake.AddProperty("grand", token)
	logs := &testutil.Buffer{}
	a := waitingApplier{fake, make(chan struct{})}
	h := ship.NewServer(a, fake, fake, zerolog.New(logs))
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodPost, ship.PathBatch, bytes.NewReader(encode(t, shipLog("e1", 1, "1").Batch(1, 5)))).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+token)
	done := make(chan struct{})
	go func() { h.ServeHTTP(httptest.NewRecorder(), req); close(done) }()
	select {
	case <-a.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the batch never reached the store")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not return after the property went away")
	}
	got := logs.String()
	if strings.Contains(got, `"level":"error"`) || !strings.Contains(got, "the property went away before its answer") {
		t.Errorf("the log:\n%s", got)
	}
}
