package console

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// D13: the listener's limits.
func TestHTTPServerLimits(t *testing.T) {
	srv := HTTPServer(http.NotFoundHandler(), nil)
	if srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("server %+v: want a header timeout, an idle timeout and a header size limit", srv)
	}
	// Zero on purpose (HTTPServer's comment): either would cut a stream.
	if srv.ReadTimeout != 0 || srv.WriteTimeout != 0 {
		t.Errorf("ReadTimeout %v, WriteTimeout %v: either cuts the live stream and the CSV export", srv.ReadTimeout, srv.WriteTimeout)
	}
}

// D13: a body that trickles in is cut at the body timeout with a 408;
// one that arrives in time reaches the handler whole.
func TestHTTPServerSlowBody(t *testing.T) {
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
		io.WriteString(w, "ok")
	})
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = newHTTPServer(h, nil, 200*time.Millisecond)
	ts.Start()
	defer ts.Close()

	res, err := http.Post(ts.URL, "text/plain", strings.NewReader("a whole body"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || <-got != "a whole body" {
		t.Fatalf("a body in time: %d", res.StatusCode)
	}

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789")
	// The rest never comes: the server must answer, bounded by this
	// deadline, well before which its 200 ms pass.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Errorf("a stalled body: %d (close %v), want 408 and Connection: close", res.StatusCode, res.Close)
	}
	select {
	case b := <-got:
		t.Errorf("the handler ran with the body %q", b)
	default:
	}
}
