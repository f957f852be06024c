package tariff_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"callgate/tariff"
)

// TestRateStream: each call line comes out with its charge added after its
// own members (a line rated before has its charge replaced); a line that is
// not a call gives an error line with its number, and the run goes on.
func TestRateStream(t *testing.T) {
	tf := mustParse(t, example)
	call, err := json.Marshal(out("9011442079460000", "2026-11-25T10:00:00", 35))
	if err != nil {
		t.Fatal(err)
	}
	rated := strings.TrimSuffix(string(call), "}") + `,"carrier_minor":1,"total_minor":1}`
	in := string(call) + "\n\n" + `{"start": 5}` + "\nnot json\n" + rated + "\n"
	var w bytes.Buffer
	calls, errs, err := tariff.RateStream(strings.NewReader(in), &w, tf)
	if err != nil || calls != 2 || errs != 2 {
		t.Fatalf("calls %d errors %d: %v", calls, errs, err)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), w.String())
	}
	for i, c := range []struct{ name, prefix, contains string }{
		{"call", strings.TrimSuffix(string(call), "}") + ",", `"carrier_minor":122`},
		{"wrong type", `{"error":"not a call`, `"line":3`},
		{"not JSON", `{"error":"not a JSON object`, `"line":4`},
		{"rated before", strings.TrimSuffix(string(call), "}") + ",", `"carrier_minor":122`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.HasPrefix(lines[i], c.prefix) || !strings.Contains(lines[i], c.contains) {
				t.Errorf("line %d: %s", i+1, lines[i])
			}
		})
	}
	if strings.Count(lines[3], `"carrier_minor"`) != 1 {
		t.Errorf("a charge rated twice: %s", lines[3])
	}
}
