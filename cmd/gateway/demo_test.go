package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoTariffIsTheExample keeps the tariff built into the binary equal to
// configs/tariffs/usa.yaml.
func TestDemoTariffIsTheExample(t *testing.T) {
	b, err := os.ReadFile("../../configs/tariffs/usa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, demoTariff) {
		t.Error("cmd/gateway/demo/tariff.yaml differs from configs/tariffs/usa.yaml: copy it again")
	}
}

// TestDemo runs the demo for a few seconds at a fast pace: calls flow from
// the simulated PBX through the serial code to the PMS simulator, and
// Ctrl-C (the context) ends it cleanly.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"--log-format", "json", "demo", "--rate", "600", "--listen", "127.0.0.1:0", "--dir", dir, "--seed", "3"},
			strings.NewReader(""), &out, &errOut)
	}()
	code := -1
	posted := make(chan bool, 1)
	go func() {
		posted <- errOut.wait(30*time.Second, func(s string) bool { return strings.Count(s, `"message":"posted `) >= 5 })
	}()
	select {
	case code = <-done:
	case <-posted:
	}
	cancel()
	if code != -1 {
		t.Fatalf("the demo ended by itself, exit %d:\n%s", code, errOut.String())
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop")
	}
	log := errOut.String()
	if n := strings.Count(log, `"message":"posted `); n < 5 {
		t.Fatalf("%d postings logged in 30 s:\n%s", n, log)
	}
	for _, want := range []string{"callgate demo", "log in as demo, password ", "PMS link alive", "PBX serial port open", "demo over:", "engine stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "journal.db")); err != nil {
		t.Errorf("--dir keeps the journal: %v", err)
	}
	if strings.Contains(log, `"level":"error"`) {
		t.Errorf("errors logged:\n%s", log)
	}
}
