package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"callgate/gateway"
)

// Problem is one thing wrong with a config file; Problems all of them.
type (
	Problem  = gateway.Problem
	Problems = gateway.Problems
)

// yamlDecoder fills a Go value from a YAML node tree by the fields' yaml tags,
// strictly: unknown keys, duplicate keys and values of the wrong type are all
// reported, with their lines, and decoding goes on so that one run reports
// every problem. It records the line of every key it sees, so that later
// validation can name lines too.
type yamlDecoder struct {
	problems Problems
	lines    map[string]int // dotted key path → line of the key
}

func newYAMLDecoder() *yamlDecoder { return &yamlDecoder{lines: map[string]int{}} }

func (d *yamlDecoder) add(key string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// keyLine returns the line of key in lines, or of its nearest parent that
// is in the file (a missing key is reported on its section's line); 0 when
// none is.
func keyLine(lines map[string]int, key string) int {
	for key != "" {
		if l, ok := lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// decodeFile parses data as one YAML document into v (a pointer to a struct).
func (d *yamlDecoder) decodeFile(data []byte, v any) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		// yaml.v3 says "yaml: line N: what"; keep the line apart.
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if i := strings.Index(rest, ":"); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line, msg = n, strings.TrimSpace(rest[i+1:])
				}
			}
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		d.add("(file)", line, "not valid YAML: %s", msg)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file: all defaults
	}
	d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), "")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || (n.Tag == "" && n.Value == ""))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *yamlDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return // keep the default
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.add(path, n.Line, "is %s, want a section of key: value pairs", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		d.pairs(n, path, func(k, val *yaml.Node, key string) {
			d.lines[key] = k.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, key)
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.add(path, n.Line, "is %s, want a list such as [a, b]", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			d.lines[key] = item.Line
			d.decode(item, s.Index(i), key)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.add(path, n.Line, "is %s, want a single value", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode {
			d.add(path, n.Line, "is %s, want a whole number", kindName(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.add(path, n.Line, "%q is not a whole number", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode {
			d.add(path, n.Line, "is %s, want true or false", kindName(n))
			return
		}
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.add(path, n.Line, "%q is not true or false", n.Value)
		}
	default:
		d.add(path, n.Line, "cannot be read into a %s (a bug in callgate)", v.Kind())
	}
}

func (d *yamlDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(path, n.Line, "is %s, want a section of keys", kindName(n))
		return
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	sort.Strings(names)
	d.pairs(n, path, func(k, val *yaml.Node, key string) {
		idx, ok := fields[k.Value]
		if !ok {
			where := "at the top level"
			if path != "" {
				where = "under " + path
			}
			msg := "unknown key"
			if s := closest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			d.add(key, k.Line, "%s; the keys allowed %s are %s", msg, where, strings.Join(names, ", "))
			return
		}
		d.lines[key] = k.Line
		d.decode(val, v.Field(idx), key)
	})
}

// pairs calls fn for each key of mapping node n with its value and dotted
// path, reporting a key given twice instead (fn sees its first value only).
func (d *yamlDecoder) pairs(n *yaml.Node, path string, fn func(k, val *yaml.Node, key string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.add(key, k.Line, "given twice (first on line %d): keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, val, key)
	}
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
