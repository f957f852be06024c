package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/pms/fias/sim"
)

// duplicateKey returns the first key that appears twice in the JSON object
// line, "" if none.
func duplicateKey(line string) (string, error) {
	d := json.NewDecoder(strings.NewReader(line))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return "", err
		}
		k := t.(string)
		if seen[k] {
			return k, nil
		}
		seen[k] = true
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return "", err
		}
	}
	return "", nil
}

// TestServeLogLines: serve's log lines are JSON objects with each key once
// (a log shipper keeps one of two "component" keys, not both), and every
// line names its component.
func TestServeLogLines(t *testing.T) {
	if k, _ := duplicateKey(`{"component":"pms","component":"pms"}`); k != "component" {
		t.Fatal("duplicateKey misses a repeated key")
	}
	pmsSim, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: []string{"101"}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pmsSim.Close()
	var logs lockedBuffer
	g := startTestGateway(t, t.TempDir(), fmt.Sprintf(`site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: smdr.txt}
pms: {protocol: fias, address: %q}
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
`, pmsSim.Addr()), &logs)
	g.run(t)
	if !logs.wait(20*time.Second, func(s string) bool {
		return strings.Contains(s, `"component":"pms"`) && strings.Contains(s, `"component":"pbx"`)
	}) {
		t.Fatalf("no log line of the PMS link and the PBX source in 20 s:\n%s", logs.String())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for _, l := range lines {
		k, err := duplicateKey(l)
		if err != nil || k != "" {
			t.Errorf("log line %s: key %q twice (%v)", l, k, err)
		}
		if !strings.Contains(l, `"component":`) {
			t.Errorf("log line without its component: %s", l)
		}
	}
}
