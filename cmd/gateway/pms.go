package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"callgate/gateway"
	"callgate/internal/yamlstrict"
)

// The pms section is read by its protocol (pms.protocol: fias, opera-cloud,
// mews, apaleo): the file is read once with the section kept aside, then
// the section alone, strictly, into the protocol's own config type, so that
// a key is checked against the protocol it is for, with its line. Each
// protocol is one entry of pmsProtocols, made in one file of its own
// (pms_fias.go; a cloud PMS adapter's with cloudPMS, pms_cloud.go).

// pmsProtocol is one PMS protocol the gateway speaks.
type pmsProtocol struct {
	name string
	// capability is what the protocol can prove about a posting whose
	// answer was lost (docs/posting-safety.md); its link must declare the
	// same.
	capability gateway.PostCapability
	// keys are the keys its pms section takes.
	keys []string
	// decode reads the pms section of the file data strictly into the
	// protocol's config, from its defaults, and keeps it in c.
	decode func(c *Config, data []byte) yamlstrict.Result
	// check records the section's problems, under pms.
	check func(c *Config, k *checker)
	// engine sets what the section says about the engine (waits, limits).
	engine func(c *Config, e *gateway.Engine)
	// open opens the protocol's link.
	open func(c *Config, env pmsEnv) (gateway.PMSLink, error)
}

// pmsEnv is what a PMS link gets from cmd besides its config section.
type pmsEnv struct {
	// Logger is the root logger: the adapter names itself (component pms).
	Logger zerolog.Logger
	// Closers gets what the link opened that must be closed if the start
	// fails after it (a transcript file).
	Closers *[]func() error
	// Location is the site's time zone (site.timezone): the PBX's wall
	// clock, in which a cloud PMS gets a call's time.
	Location *time.Location
}

// pmsProtocols are the protocols, by pms.protocol.
var pmsProtocols = map[string]*pmsProtocol{}

// registerPMS adds a protocol to pmsProtocols (from an init of its file).
func registerPMS(p *pmsProtocol) {
	if _, dup := pmsProtocols[p.name]; dup {
		panic("PMS protocol registered twice: " + p.name) // a programming error, at start
	}
	pmsProtocols[p.name] = p
}

// pmsNames lists the protocols, sorted.
func pmsNames() []string {
	names := make([]string, 0, len(pmsProtocols))
	for n := range pmsProtocols {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// pmsSection is the pms section as the first reading of the file keeps it:
// its node, read again by the protocol's decode.
type pmsSection struct {
	node *yaml.Node
}

// UnmarshalYAML keeps the section's node.
func (s *pmsSection) UnmarshalYAML(n *yaml.Node) error {
	s.node = n
	return nil
}

// protocol returns pms.protocol as written ("" when absent) and its line.
func (s pmsSection) protocol() (string, int, bool) {
	n := s.node
	if n == nil || n.Kind != yaml.MappingNode {
		return "", 0, n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "protocol" {
			v := n.Content[i+1]
			return v.Value, v.Line, v.Kind == yaml.ScalarNode
		}
	}
	return "", n.Line, true
}

// readPMS reads the pms section by its protocol into c (c.pms, and the
// protocol's config), and returns the problems and whether part of it was
// left unread.
func (c *Config) readPMS(data []byte) (Problems, bool) {
	if n := c.PMSSection.node; n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		c.pms = pmsProtocols["fias"] // no section: FIAS with its defaults
		return nil, false
	}
	name, line, ok := c.PMSSection.protocol()
	switch {
	case !ok:
		return Problems{{Key: "pms", Line: c.lines.Of("pms"), Msg: "want a section of keys (protocol, and the protocol's settings)"}}, true
	case name == "":
		name = "fias" // the protocol of every config before cloud PMSs
	}
	p := pmsProtocols[name]
	if p == nil {
		return Problems{{Key: "pms.protocol", Line: line,
			Msg: fmt.Sprintf("%q is not a PMS protocol this gateway speaks: use one of %s", name, strings.Join(pmsNames(), ", "))}}, true
	}
	c.pms = p
	r := p.decode(c, data)
	var problems Problems
	for _, q := range r.Problems {
		if !hasPrefix(q.Key, "pms") {
			continue // the first reading reported it
		}
		problems = append(problems, Problem{Key: q.Key, Line: q.Line, Msg: p.unknownKey(q.Key, q.Msg)})
	}
	return problems, r.Partial && len(problems) > 0
}

// unknownKey words the problem of a key the protocol does not take: naming
// the protocol, and the protocols that take it.
func (p *pmsProtocol) unknownKey(key, msg string) string {
	name, direct := strings.CutPrefix(key, "pms.")
	if !strings.HasPrefix(msg, "unknown key") || !direct || strings.ContainsAny(name, ".[") {
		return msg
	}
	var others []string
	for _, n := range pmsNames() {
		if n != p.name && slices.Contains(pmsProtocols[n].keys, name) {
			others = append(others, n)
		}
	}
	if len(others) > 0 {
		return fmt.Sprintf("%s is a key of pms.protocol %s, not of %s (the protocol this file sets): remove it, or set the protocol it belongs to; the keys %s takes are %s",
			name, strings.Join(others, " or "), p.name, p.name, strings.Join(p.keys, ", "))
	}
	return strings.Replace(msg, "the keys allowed under pms", "the keys pms.protocol "+p.name+" allows under pms", 1)
}

// pmsOnly reads the pms section of a file alone, into T: the rest of the
// file is taken as it is (the first reading checked it).
type pmsOnly[T any] struct {
	PMS  *T             `yaml:"pms"`
	Rest map[string]any `yaml:",inline"`
}

// decodePMS reads the pms section of data strictly into v (holding its
// defaults).
func decodePMS[T any](data []byte, v *T) yamlstrict.Result {
	return yamlstrict.Decode(data, &pmsOnly[T]{PMS: v})
}

// yamlKeys returns the yaml keys of a config struct's fields (inline
// structs' included), sorted.
func yamlKeys(v any) []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case opts == "inline" && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			case name != "" && name != "-" && f.IsExported():
				keys = append(keys, name)
			}
		}
	}
	walk(reflect.TypeOf(v))
	slices.Sort(keys)
	return keys
}

// openPMS opens the PMS link the config names and sets the engine's
// settings from its section. The link must declare the protocol's
// capability: the config's checks (pms.lost_answer) were made for it.
func (c *Config) openPMS(e *gateway.Engine, env pmsEnv) (gateway.PMSLink, error) {
	p := c.pms
	if p == nil {
		return nil, fmt.Errorf("pms.protocol: the config was not read by its protocol")
	}
	if p.engine != nil {
		p.engine(c, e)
	}
	link, err := p.open(c, env)
	if err != nil {
		return nil, err
	}
	got := gateway.CapabilityBlind
	if pp, ok := link.(gateway.PostProver); ok {
		got = pp.Capability()
	}
	if got != p.capability {
		link.Close()
		return nil, fmt.Errorf("the %s PMS link declares capability %s where the gateway expects %s: this build of the gateway is inconsistent, report it", p.name, got, p.capability)
	}
	return link, nil
}
