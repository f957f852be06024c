// Package yamlstrict reads a YAML file into a Go value strictly, for the
// config and the tariff: every unknown key, key given twice and value of the
// wrong type is reported with its key and line, and reading goes on so that
// one run reports every problem.
//
// The reading is go.yaml.in/yaml/v3's own, with Decoder.KnownFields(true).
// Written here is only what the library does not give: the dotted path of the
// key each of its messages is about, the line of every key (for the caller's
// own checks), the keys allowed where an unknown one stands with a likely
// typo named, and messages in the words of a hotel's technician.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in the file: the dotted key (pbx.serial.baud,
// rooms.ranges[0]), its line (0 if unknown) and what is wrong.
type Problem struct {
	Key  string
	Line int
	Msg  string
}

// Lines maps a dotted key to the line it is on.
type Lines map[string]int

// Of returns the line of key, or of its nearest parent in the file (a missing
// key is reported on its section's line); 0 when none is.
func (l Lines) Of(key string) int {
	for key != "" {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// Result is what Decode found.
type Result struct {
	Lines    Lines
	Problems []Problem
	// Partial is set when part of the file was left unread: not valid YAML,
	// or a section with a key given twice (the library reads no key of that
	// section). Checks of the values would then report what is merely unread.
	Partial bool
	// Empty is set for a file with no document (all defaults).
	Empty bool
	// Line is the line the document's content starts on.
	Line int
}

// place is a node of the file with its dotted path and, for a key, the keys
// allowed beside it.
type place struct {
	path    string
	node    *yaml.Node
	allowed []string // for a key of a struct section: its fields' names
	where   string   // "at the top level", "under pbx"
}

// index finds the places the library's messages name by their line.
type index struct {
	lines  Lines
	keys   map[int][]place // by line: the keys on it
	values map[int][]place // by line: the scalar values on it
}

// Decode reads data, one YAML document, into v (a pointer to a struct, filled
// with defaults that absent keys keep).
func Decode(data []byte, v any) Result {
	res := Result{Lines: Lines{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		res.Problems = append(res.Problems, syntaxProblem(err))
		res.Partial = true
		return res
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		res.Empty = true
		return res
	}
	res.Line = doc.Content[0].Line
	if top := doc.Content[0]; top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		res.Empty = true // "~" or "null": no settings, as an empty file
		return res
	} else if top.Kind != yaml.MappingNode {
		// Not the shape of any file of ours (/etc/shadow reads as one long
		// string): say so without quoting a line of it.
		res.Problems = append(res.Problems, Problem{Key: "(file)", Line: res.Line,
			Msg: "this is not a file of key: value settings (its top level is " + kindName(top.Kind) + "): is it the right file?"})
		res.Partial = true
		return res
	}
	if t := reflect.TypeOf(v).Elem(); t.Kind() == reflect.Struct && !knownKey(doc.Content[0], t) {
		// Keys, but none of ours: /etc/shadow's lines end in ':' and read
		// as keys. Their names are not repeated.
		names, _ := fields(t)
		res.Problems = append(res.Problems, Problem{Key: "(file)", Line: res.Line,
			Msg: "none of this file's top-level keys is a setting (they are " + strings.Join(names, ", ") + "): is it the right file?"})
		res.Partial = true
		return res
	}
	ix := &index{lines: res.Lines, keys: map[int][]place{}, values: map[int][]place{}}
	ix.walk(doc.Content[0], reflect.TypeOf(v).Elem(), "")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	var te *yaml.TypeError
	switch {
	case err == nil || errors.Is(err, io.EOF):
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			p, partial := ix.problem(msg)
			res.Problems = append(res.Problems, p)
			res.Partial = res.Partial || partial
		}
	default:
		res.Problems = append(res.Problems, syntaxProblem(err))
		res.Partial = true
	}
	return res
}

// knownKey reports whether mapping m has a key that struct type t reads.
func knownKey(m *yaml.Node, t reflect.Type) bool {
	_, types := fields(t)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if _, ok := types[m.Content[i].Value]; ok {
			return true
		}
	}
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "text"
	case yaml.AliasNode:
		return "an alias"
	}
	return "not a section"
}

// quoted is what the library quotes from the file in a syntax message (an
// anchor's name): a file that is not valid YAML may be no file of ours, so
// none of its text is repeated.
var quoted = regexp.MustCompile(`anchor '[^']*'`)

// syntaxProblem keeps the line of the library's "yaml: line N: what" apart.
func syntaxProblem(err error) Problem {
	msg := quoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "anchor")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return Problem{Key: "(file)", Line: line, Msg: "not valid YAML: " + msg}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields returns the yaml names of struct type t's fields and their types.
func fields(t reflect.Type) (names []string, types map[string]reflect.Type) {
	types = map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			inner, innerTypes := fields(f.Type)
			names = append(names, inner...)
			maps.Copy(types, innerTypes)
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		names = append(names, name)
		types[name] = f.Type
	}
	slices.Sort(names)
	return names, types
}

// walk records the line of every key under n, read as type t (nil: not a
// type of ours, such as a yaml.Node the caller reads itself).
func (ix *index) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil {
		if nl, ok := reflect.New(t).Interface().(nameOrList); ok {
			t = nl.listType()
		}
	}
	if t == reflect.TypeOf(yaml.Node{}) {
		t = nil
	}
	ix.values[n.Line] = append(ix.values[n.Line], place{path: path, node: n})
	switch n.Kind {
	case yaml.SequenceNode:
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			ix.lines[key] = item.Line
			ix.walk(item, elem, key)
		}
	case yaml.MappingNode:
		var names []string
		var types map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			names, types = fields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		where := "at the top level"
		if path != "" {
			where = "under " + path
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			ix.keys[k.Line] = append(ix.keys[k.Line], place{path: key, node: k, allowed: names, where: where})
			if _, seen := ix.lines[key]; !seen {
				ix.lines[key] = k.Line
			}
			ft := elem
			if types != nil {
				ft = types[k.Value]
			}
			ix.walk(val, ft, key)
		}
	}
}

var (
	unknownRE = regexp.MustCompile(`^line (\d+): field (.*) not found in type .*$`)
	dupRE     = regexp.MustCompile(`^line (\d+): mapping key "(.*)" already defined at line (\d+)$`)
	typeRE    = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.*)$")
)

// key finds the key named name on line.
func (ix *index) key(line int, name string) (place, bool) {
	for _, p := range ix.keys[line] {
		if p.node.Value == name {
			return p, true
		}
	}
	return place{}, false
}

// value finds the value the library names on line: a list, a section, or a
// single value as it showed it (cut to seven characters and "..." when
// longer than ten).
func (ix *index) value(line int, tag, shown string) place {
	prefix, cut := strings.CutSuffix(shown, "...")
	for _, p := range ix.values[line] {
		n := p.node
		switch {
		case tag == "!!seq" && n.Kind == yaml.SequenceNode, tag == "!!map" && n.Kind == yaml.MappingNode:
			return p
		case n.Kind == yaml.ScalarNode && tag != "!!seq" && tag != "!!map" && (n.Value == shown || cut && strings.HasPrefix(n.Value, prefix)):
			return p
		}
	}
	return place{path: "(file)", node: &yaml.Node{Value: shown}}
}

// problem turns one of the library's messages into a Problem; partial
// reports that the section it is about was left unread.
func (ix *index) problem(msg string) (Problem, bool) {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := unknownRE.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		p, ok := ix.key(line, m[2])
		if !ok {
			return Problem{Key: m[2], Line: line, Msg: "unknown key"}, false
		}
		text := "unknown key"
		if s := closest(m[2], p.allowed); s != "" {
			text += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return Problem{Key: p.path, Line: line, Msg: fmt.Sprintf("%s; the keys allowed %s are %s", text, p.where, strings.Join(p.allowed, ", "))}, false
	}
	if m := dupRE.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		key := m[2]
		if p, ok := ix.key(line, m[2]); ok {
			key = p.path
		}
		return Problem{Key: key, Line: line, Msg: fmt.Sprintf("given twice (first on line %s): keep one", m[3])}, true
	}
	if m := typeRE.FindStringSubmatch(msg); m != nil {
		line := atoi(m[1])
		tag, into := m[2], m[4]
		p := ix.value(line, tag, m[3])
		key, shown := p.path, p.node.Value
		var is string
		switch tag {
		case "!!map":
			is = "is a section of keys"
		case "!!seq":
			is = "is a list"
		default:
			is = "is " + strconv.Quote(shown)
		}
		if tag == "!!map" || tag == "!!seq" {
			return Problem{Key: key, Line: line, Msg: is + ", want " + want(into)}, false
		}
		switch want(into) {
		case "a whole number":
			return Problem{Key: key, Line: line, Msg: fmt.Sprintf("%q is not a whole number", shown)}, false
		case "true or false":
			return Problem{Key: key, Line: line, Msg: fmt.Sprintf("%q is not true or false", shown)}, false
		}
		return Problem{Key: key, Line: line, Msg: is + ", want " + want(into)}, false
	}
	return Problem{Key: "(file)", Msg: msg}, false
}

// want says what a Go type the library names takes.
func want(goType string) string {
	switch {
	case goType == "string":
		return "a single value"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "[]"):
		return "a list such as [a, b]"
	case strings.HasPrefix(goType, "map["):
		return "a section of key: value pairs"
	}
	return "a section of keys"
}

// closest returns the name nearest to s by edit distance, if it is near
// enough to be a typo.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
