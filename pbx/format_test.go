package pbx

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"callgate/gateway"
)

var update = flag.Bool("update", false, "rewrite the .golden.jsonl files under testdata from what the parsers produce now")

// caseOptions is a test case's <case>.opts.yaml: how `gateway parse` would be
// called on the case's input.
type caseOptions struct {
	Received string    `yaml:"received"` // reading clock, site-local wall clock; default 2024-11-06T09:00:00
	TZ       string    `yaml:"tz"`       // site zone; default America/New_York
	Year     int       `yaml:"year"`
	Template *Template `yaml:"template"`
	CMFields []CMField `yaml:"cm_fields"`
}

// loadCase returns a parser and reading clock for testdata input file in.
func loadCase(tb testing.TB, format, in string) (*Parser, time.Time) {
	tb.Helper()
	co := caseOptions{Received: "2024-11-06T09:00:00", TZ: "America/New_York"}
	optsFile := strings.TrimSuffix(in, filepath.Ext(in)) + ".opts.yaml"
	if b, err := os.ReadFile(optsFile); err == nil {
		if err := yaml.Unmarshal(b, &co); err != nil {
			tb.Fatalf("%s: %v", optsFile, err)
		}
	}
	loc, err := time.LoadLocation(co.TZ)
	if err != nil {
		tb.Fatal(err)
	}
	clock, err := time.ParseInLocation(gateway.WallClockLayout, co.Received, loc)
	if err != nil {
		tb.Fatalf("%s: received: %v", optsFile, err)
	}
	p, err := NewParser(format, Options{Location: loc, Year: co.Year, Template: co.Template, CMFields: co.CMFields})
	if err != nil {
		tb.Fatalf("%s: %v", in, err)
	}
	return p, clock
}

// inputs lists a format's test inputs: every file in testdata/<format>/ that
// is neither options nor golden output.
func inputs(tb testing.TB, format string) []string {
	files, err := filepath.Glob(filepath.Join("testdata", format, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var in []string
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.jsonl") || strings.HasSuffix(f, ".opts.yaml") {
			continue
		}
		in = append(in, f)
	}
	return in
}

// TestGolden parses every input under testdata/<format>/ exactly as `gateway
// parse` does and compares the JSON lines with <case>.golden.jsonl. Run with
// -update to rewrite the golden files, then read the diff.
func TestGolden(t *testing.T) {
	for _, f := range Formats() {
		ins := inputs(t, f.Name)
		if len(ins) == 0 {
			t.Errorf("format %s has no test input under testdata/%s", f.Name, f.Name)
		}
		for _, in := range ins {
			t.Run(strings.TrimPrefix(in, "testdata/"), func(t *testing.T) {
				p, clock := loadCase(t, f.Name, in)
				raw, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if _, err := ParseStream(bytes.NewReader(raw), &out, p, clock); err != nil {
					t.Fatal(err)
				}
				golden := strings.TrimSuffix(in, filepath.Ext(in)) + ".golden.jsonl"
				if *update {
					if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./pbx -run TestGolden -update to create it)", err)
				}
				if got := out.String(); got != string(want) {
					gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
					for i := 0; i < len(gl) || i < len(wl); i++ {
						var g, w string
						if i < len(gl) {
							g = gl[i]
						}
						if i < len(wl) {
							w = wl[i]
						}
						if g != w {
							t.Fatalf("line %d differs\n got: %s\nwant: %s", i+1, g, w)
						}
					}
				}
			})
		}
	}
}

// fuzzFormat is the body of every format's fuzz target: seeded with the lines
// of the format's test inputs, it checks that parsing any bytes never panics
// (the parser itself, without Parse's safety net), never hangs, and never
// yields a call with a negative duration, no start, or JSON that does not read
// back.
func fuzzFormat(f *testing.F, format string) {
	for _, in := range inputs(f, format) {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.FieldsFunc(b, func(r rune) bool { return r == '\n' || r == '\r' }) {
			f.Add(line)
		}
	}
	loc, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, line []byte) {
		p := mustParser(t, format, Options{Location: loc, Template: fuzzTemplate(format)})
		if _, err := p.rp.parse(line, clock); err != nil {
			return
		}
		c, err := p.Parse(gateway.RawRecord{Data: line, Received: clock})
		if errors.Is(err, ErrSkip) || err != nil {
			return
		}
		checkSane(t, c)
	})
}

// checkSane fails the test for a call no parser may return: a negative
// duration or ring time, no start, or JSON that does not read back.
func checkSane(t *testing.T, c gateway.Call) {
	t.Helper()
	if c.DurationS < 0 || (c.RingS != nil && *c.RingS < 0) {
		t.Fatalf("negative duration or ring: %+v", c)
	}
	if c.Start.IsZero() || c.StartUTC.IsZero() {
		t.Fatalf("call without start: %+v", c)
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back gateway.Call
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("JSON does not read back: %v\n%s", err, b)
	}
}

// fuzzTemplate returns a layout for fuzzing the template format; other formats
// need none.
func fuzzTemplate(format string) *Template {
	if format != "template" {
		return nil
	}
	return testTemplate()
}
