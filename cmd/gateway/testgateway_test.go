package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"callgate/gateway"
)

// testGateway is a gateway started as serve starts it, for the tests that
// drive the whole wiring (browser, scheduled reports).
type testGateway struct {
	*gatewayRun
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error // run's end (nil before run and after stop)
}

// startTestGateway writes a site into dir — an empty smdr.txt for the file
// PBX, the demo tariff as tariff.yaml and cfg as callgate.yaml — starts the
// gateway and adds the auditor "night" with testPassword. Call run to start
// serving; the test's cleanup stops it. The gateway logs at info level to
// the test's log, and to logs if given.
func startTestGateway(t *testing.T, dir, cfg string, logs ...io.Writer) *testGateway {
	t.Helper()
	for name, data := range map[string][]byte{"smdr.txt": nil, "tariff.yaml": demoTariff, "callgate.yaml": []byte(cfg)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := LoadConfig(filepath.Join(dir, "callgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := io.Writer(zerolog.NewTestWriter(t))
	if len(logs) > 0 {
		out = io.MultiWriter(append([]io.Writer{out}, logs...)...)
	}
	g, err := startGateway(ctx, c, zerolog.New(out).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err := g.journal.PutUser(ctx, gateway.User{Name: "night", Role: "auditor", PasswordHash: hash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &testGateway{gatewayRun: g, ctx: ctx, cancel: cancel}
}

// run serves until the test ends (or stop), then stops the gateway in order.
func (tg *testGateway) run(t *testing.T) {
	tg.done = make(chan error, 1)
	go func() { tg.done <- tg.gatewayRun.run(tg.ctx) }()
	t.Cleanup(func() { tg.stop(t) })
}

// stop stops the gateway and waits until it has: the engine, HTTP and the
// scheduled reports ended, the journal closed. Again, it does nothing.
func (tg *testGateway) stop(t *testing.T) {
	tg.cancel()
	if tg.done == nil {
		return
	}
	select {
	case <-tg.done:
		tg.done = nil
	case <-time.After(20 * time.Second):
		t.Error("the gateway did not stop")
	}
}
