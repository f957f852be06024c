package main

import (
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callgate/internal/testutil"
	"callgate/pbx"
)

// TestServePBXRefusedMetric (issue 14, D4): serve puts the PBX port's
// refused connections on /metrics, by reason, for an alert; and it logs what
// gateway check warns about (here a plain console on every interface).
func TestServePBXRefusedMetric(t *testing.T) {
	var logs lockedBuffer
	g := startTestGateway(t, t.TempDir(), `site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: tcp-listen, listen: "127.0.0.1:0", allow: ["127.0.0.2"]}
pms: {protocol: fias, address: "127.0.0.1:1"}
tariff: tariff.yaml
console: {listen: "0.0.0.0:0"}
`, &logs)
	if !strings.Contains(logs.String(), `"level":"warn","component":"serve","key":"console.listen"`) {
		t.Errorf("no warning logged for the console:\n%s", logs.String())
	}
	src := g.engine.Source.(*pbx.ListenSource)
	for range 3 {
		c, err := net.Dial("tcp", src.Addr().String()) // from 127.0.0.1: not allowed
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c) // until the gateway closes it
		c.Close()
	}
	testutil.WaitFor(t, 3*time.Second, "3 refusals", func() bool { return src.Stats().RefusedNotAllowed == 3 })
	rec := httptest.NewRecorder()
	g.http.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`callgate_pbx_connections_refused_total{reason="not-allowed"} 3`,
		`callgate_pbx_connections_refused_total{reason="address-limit"} 0`,
		"callgate_pbx_connections_evicted_total 0",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
