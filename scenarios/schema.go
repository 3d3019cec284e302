package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the schema walk so hostile YAML (deep nesting, alias
// tricks) can never blow the stack.
const maxDepth = 64

var durationType = reflect.TypeOf(Duration(0))

// field is one YAML key of a struct, in declaration order.
type field struct {
	key  string
	typ  reflect.Type
	omit bool // yaml:"-"
}

// structFields lists the YAML keys of t (a struct type) in declaration order
// and whether it has an inline map that accepts any other key.
func structFields(t reflect.Type) (fields []field, inlineMap bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			if f.Type.Kind() == reflect.Map {
				inlineMap = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{key: name, typ: f.Type})
	}
	return fields, inlineMap
}

func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	fields, _ := structFields(t)
	for _, f := range fields {
		if f.key == key {
			return f.typ, true
		}
	}
	return nil, false
}

func knownKeys(t reflect.Type) string {
	fields, _ := structFields(t)
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

// schemaWalker checks a YAML node tree against the Go types strictly (unknown
// keys, duplicate keys, wrong kinds, durations without units) and records the
// line of every field path it visits, so later validation can point at lines.
type schemaWalker struct {
	file  string
	lines map[string]int
	errs  []string
}

func (w *schemaWalker) fail(line int, path, format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf("%s: %s: %s", loc(w.file, line), displayPath(path), fmt.Sprintf(format, args...)))
}

// loc formats "file:line", or just "file" when the line is unknown.
func loc(file string, line int) string {
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

func displayPath(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (w *schemaWalker) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	if depth > maxDepth {
		w.fail(n.Line, path, "nested too deeply; a scenario is at most a few levels deep")
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			w.fail(n.Line, path, "unresolved alias; define the anchor first")
			return
		}
		n = n.Alias
	}
	if path != "" {
		if _, seen := w.lines[path]; !seen {
			w.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // absent value: the zero value, defaults apply later
	}
	if t == durationType {
		if n.Kind != yaml.ScalarNode {
			w.fail(n.Line, path, "expected a duration; write e.g. 20s, 1m30s or 250ms")
			return
		}
		if _, err := ParseDuration(n.Value); err != nil {
			w.fail(n.Line, path, "%s", err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path, depth+1)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, path, "expected a mapping, got %s; write keys among: %s", describe(n), knownKeys(t))
			return
		}
		fields, inline := structFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				w.fail(k.Line, path, "keys must be plain names; got %s", describe(k))
				continue
			}
			kp := joinPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				w.fail(k.Line, kp, "defined twice (first on line %d); keep one", first)
				continue
			}
			seen[k.Value] = k.Line
			var ft reflect.Type
			for _, f := range fields {
				if f.key == k.Value {
					ft = f.typ
					break
				}
			}
			if ft == nil {
				if inline {
					w.lines[kp] = k.Line
					continue
				}
				where := path
				if where == "" {
					where = "scenario"
				}
				w.fail(k.Line, kp, "unknown field %q in %s; use one of: %s", k.Value, where, knownKeys(t))
				continue
			}
			w.lines[kp] = k.Line
			w.walk(v, ft, kp, depth+1)
			w.lines[kp] = k.Line
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n.Line, path, "expected a list, got %s; write [...] or one \"- item\" per line", describe(n))
			return
		}
		for i, c := range n.Content {
			ip := path + "[" + strconv.Itoa(i) + "]"
			w.walk(c, t.Elem(), ip, depth+1)
		}
	case reflect.Map:
		// free-form (fault params): any value, checked by the fault hook.
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.fail(n.Line, path, "expected a string, got %s; quote it", describe(n))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.fail(n.Line, path, "expected a whole number, got %s; write e.g. 100", describe(n))
		}
	case reflect.Float64, reflect.Float32:
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
			w.fail(n.Line, path, "expected a number, got %s; write e.g. 500 or 1.5", describe(n))
		}
	}
}

// describe names a node for error messages without dumping it whole.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	}
	return "an unexpected node"
}
