package upcast

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/evbench/evbench/fixtures/envelope"
)

// Catalogue returns the registry of evbench's event catalogue for types:
// for every version v >= 2 of each, an upcaster from v-1 built from the
// changes fixtures/envelope declares (a field added gets its default, a
// field renamed moves its value).
func Catalogue(types []string) (*Registry, error) {
	r := NewRegistry()
	for _, typ := range types {
		for v := 2; v <= envelope.Versions(typ); v++ {
			if r.Has(typ, v-1) {
				continue // a type listed twice
			}
			u, err := FromChanges(envelope.Changes(typ, v))
			if err != nil {
				return nil, fmt.Errorf("upcast: %s v%d: %w", typ, v, err)
			}
			if err := r.Register(typ, v-1, u); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// Newest is the catalogue's newest version of typ: what a current reader
// knows (a Reader's knows function).
func Newest(typ string) int { return envelope.Versions(typ) }

// UpTo is the knows function of a reader deployed at version v: it knows
// each type up to v (or the type's newest, when lower).
func UpTo(v int) func(typ string) int {
	return func(typ string) int { return min(v, envelope.Versions(typ)) }
}

// FromChanges is the upcaster applying changes in order to a data object.
func FromChanges(changes []envelope.Change) (Upcaster, error) {
	for _, c := range changes {
		switch c.Kind {
		case envelope.ChangeAdd:
			if !json.Valid([]byte(c.Default)) {
				return nil, fmt.Errorf("add %s: default %q is not JSON", c.Field, c.Default)
			}
		case envelope.ChangeRename:
		default:
			return nil, fmt.Errorf("unknown change kind %q", c.Kind)
		}
	}
	return func(data []byte) ([]byte, error) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, err
		}
		for _, c := range changes {
			switch c.Kind {
			case envelope.ChangeAdd:
				if _, ok := obj[c.Field]; !ok {
					obj[c.Field] = json.RawMessage(c.Default)
				}
			case envelope.ChangeRename:
				if v, ok := obj[c.From]; ok {
					delete(obj, c.From)
					obj[c.Field] = v
				}
			}
		}
		return appendObject(make([]byte, 0, len(data)+32), obj), nil
	}, nil
}

// appendObject writes obj with sorted keys. Its values are raw JSON that
// came out of a successful Unmarshal (or a checked default), so they are
// copied as they are: json.Marshal would re-validate and compact each one,
// doubling an upcaster's cost for nothing.
func appendObject(dst []byte, obj map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		q, _ := json.Marshal(k) // a string always marshals
		dst = append(append(dst, q...), ':')
		dst = append(dst, obj[k]...)
	}
	return append(dst, '}')
}
