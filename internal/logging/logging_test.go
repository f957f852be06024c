package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogger(t *testing.T) {
	var b bytes.Buffer
	log, err := New(&b, "", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hidden")
	log.Warn().Str("room", "415").Msg("shown")
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("not JSON (a buffer is no terminal): %q", b.String())
	}
	if line["message"] != "shown" || line["level"] != "warn" || line["time"] == nil {
		t.Errorf("log line: %v", line)
	}
	b.Reset()
	log, _ = New(&b, "console", "debug")
	log.Debug().Msg("for people")
	if !strings.Contains(b.String(), "for people") || strings.HasPrefix(b.String(), "{") {
		t.Errorf("console output: %q", b.String())
	}
	for _, tc := range [][2]string{{"xml", ""}, {"", "loud"}} {
		t.Run(tc[0]+"/"+tc[1], func(t *testing.T) {
			if _, err := New(&b, tc[0], tc[1]); err == nil {
				t.Errorf("New(%q, %q) accepted", tc[0], tc[1])
			}
		})
	}
}
