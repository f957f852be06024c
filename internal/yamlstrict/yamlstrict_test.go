package yamlstrict

import (
	"strconv"
	"strings"
	"testing"
)

type serial struct {
	Device string `yaml:"device"`
	Baud   int    `yaml:"baud"`
	Parity string `yaml:"parity"`
}

type conf struct {
	Name    string            `yaml:"name"`
	Serial  *serial           `yaml:"serial"`
	Allow   []string          `yaml:"allow"`
	Markers map[string]string `yaml:"markers"`
	Debug   bool              `yaml:"debug"`
	Ports   []serial          `yaml:"ports"`
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"parity", "parity", 0}, {"paritty", "parity", 1}, {"protocl", "protocol", 1}, {"abc", "xyz", 3}} {
		t.Run(tc.a+"/"+tc.b, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.d {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	c := conf{Name: "default", Serial: &serial{Baud: 9600}}
	r := Decode([]byte("serial:\n  device: /dev/ttyS0\n  parity: even\nallow: [a, b]\nports:\n  - {device: x}\n"), &c)
	if len(r.Problems) != 0 || r.Partial || r.Empty {
		t.Fatalf("%+v", r)
	}
	if c.Name != "default" || c.Serial.Baud != 9600 || c.Serial.Device != "/dev/ttyS0" || len(c.Allow) != 2 || c.Ports[0].Device != "x" {
		t.Errorf("%+v %+v", c, c.Serial)
	}
	for key, line := range map[string]int{"serial": 1, "serial.device": 2, "serial.parity": 3, "allow": 4, "allow[1]": 4, "ports[0].device": 6} {
		if got := r.Lines.Of(key); got != line {
			t.Errorf("line of %s: %d, want %d", key, got, line)
		}
	}
	// A key not in the file is on its section's line.
	if got := r.Lines.Of("serial.baud"); got != 1 {
		t.Errorf("serial.baud: line %d, want 1", got)
	}
	if got := r.Lines.Of("nothing.here"); got != 0 {
		t.Errorf("nothing.here: line %d", got)
	}
	if r := Decode([]byte("# nothing\n"), &c); !r.Empty || len(r.Problems) != 0 {
		t.Errorf("an empty file: %+v", r)
	}
}

// TestProblems: every problem in one run, each with its key, line and a
// message that says what to write instead.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // Problem.String-like: key: line N: message
		partial    bool
	}{
		{"unknown keys, all of them", "nmae: x\nserial:\n  baud: 9600\n  pariti: odd\n  speed: 1\n", []string{
			"nmae: line 1: unknown key (did you mean name?); the keys allowed at the top level are allow, debug, markers, name, ports, serial",
			"serial.pariti: line 4: unknown key (did you mean parity?); the keys allowed under serial are baud, device, parity",
			"serial.speed: line 5: unknown key; the keys allowed under serial are baud, device, parity",
		}, false},
		{"unknown key in a list item", "ports:\n  - {device: x, bud: 1}\n", []string{
			"ports[0].bud: line 2: unknown key (did you mean baud?); the keys allowed under ports[0] are baud, device, parity",
		}, false},
		{"not a whole number", "serial: {baud: fast, device: /dev/ttyUSB0}\n", []string{`serial.baud: line 1: "fast" is not a whole number`}, false},
		{"a long value not a number", "serial:\n  baud: ninethousand\n", []string{`serial.baud: line 2: "ninethousand" is not a whole number`}, false},
		{"not a bool", "debug: maybe\n", []string{`debug: line 1: "maybe" is not true or false`}, false},
		{"a list for a value", "name: [a]\n", []string{"name: line 1: is a list, want a single value"}, false},
		{"a value for a section", "serial: /dev/ttyUSB0\n", []string{`serial: line 1: is "/dev/ttyUSB0", want a section of keys`}, false},
		{"a value for a list", "allow: x\n", []string{`allow: line 1: is "x", want a list such as [a, b]`}, false},
		{"a list for a map", "markers: [a]\n", []string{"markers: line 1: is a list, want a section of key: value pairs"}, false},
		{"given twice", "name: a\nserial: {baud: 1}\nname: b\n", []string{"name: line 3: given twice (first on line 1): keep one"}, true},
		{"not YAML", "name: [a\n", []string{"(file): line 1: not valid YAML: did not find expected ',' or ']'"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c conf
			r := Decode([]byte(tc.yaml), &c)
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.Key+": line "+strconv.Itoa(p.Line)+": "+p.Msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if r.Partial != tc.partial {
				t.Errorf("partial %v, want %v", r.Partial, tc.partial)
			}
		})
	}
}

type deck struct {
	Ports NameOrList[serial] `yaml:"ports"`
}

// TestNameOrList: a file name, or a list whose items are read as strictly
// as the rest (the library gives an Unmarshaler no KnownFields).
func TestNameOrList(t *testing.T) {
	var d deck
	if r := Decode([]byte("ports: ports.csv\n"), &d); len(r.Problems) != 0 || !d.Ports.IsName || d.Ports.Name != "ports.csv" {
		t.Errorf("a name: %+v %+v", r, d)
	}
	d = deck{}
	if r := Decode([]byte("ports:\n  - {device: a, baud: 1}\n  - device: b\n"), &d); len(r.Problems) != 0 || d.Ports.IsName || len(d.Ports.List) != 2 || d.Ports.List[1].Device != "b" {
		t.Errorf("a list: %+v %+v", r, d)
	}
	r := Decode([]byte("ports:\n  - {device: a, bud: 1}\n  - device: b\n    baud: fast\n"), &deck{})
	var got []string
	for _, p := range r.Problems {
		got = append(got, p.Key+": line "+strconv.Itoa(p.Line)+": "+p.Msg)
	}
	want := []string{
		"ports[0].bud: line 2: unknown key (did you mean baud?); the keys allowed under ports[0] are baud, device, parity",
		`ports[1].baud: line 4: "fast" is not a whole number`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
