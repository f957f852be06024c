package yamlstrict

import (
	"errors"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// NameOrList is a value written either as one name (a file to read the list
// from, say) or as the list itself: destinations: deck.csv, or
// destinations: [{prefix: "1", …}].
//
// yaml.v3 hands such a value, a type with its own UnmarshalYAML, a node and
// none of the Decoder's settings: Node.Decode has no KnownFields. So the
// keys of the list's items are checked here, by hand, against T's yaml
// names; the rest (types, keys given twice) is the library's, and every
// message goes back to the Decoder in its own form, so that Decode reports
// it as it reports the others.
type NameOrList[T any] struct {
	Name   string // set when the value is a single one
	List   []T
	IsName bool
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *NameOrList[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v.Name, v.IsName = n.Value, true
		return nil
	}
	msgs := unknownKeys(n, reflect.TypeOf(v.List))
	err := n.Decode(&v.List)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		msgs = append(msgs, te.Errors...)
	case err != nil:
		return err
	}
	if len(msgs) > 0 {
		return &yaml.TypeError{Errors: msgs}
	}
	return nil
}

// listType is the list type a NameOrList holds, for the index's walk.
func (v *NameOrList[T]) listType() reflect.Type { return reflect.TypeOf(v.List) }

type nameOrList interface{ listType() reflect.Type }

// unknownKeys returns, in the library's words, a message for each key under
// n that type t has no field for.
func unknownKeys(n *yaml.Node, t reflect.Type) []string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var msgs []string
	switch {
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for _, item := range n.Content {
			msgs = append(msgs, unknownKeys(item, t.Elem())...)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 1; i < len(n.Content); i += 2 {
			msgs = append(msgs, unknownKeys(n.Content[i], t.Elem())...)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && t != reflect.TypeOf(yaml.Node{}):
		_, types := fields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := types[k.Value]
			if !ok {
				msgs = append(msgs, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t))
				continue
			}
			msgs = append(msgs, unknownKeys(n.Content[i+1], ft)...)
		}
	}
	return msgs
}
