package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Set applies one --set override: path is a dotted field path with optional
// indexes ("load.start", "load.stages[0].to", "consumers.pause"), value is
// parsed as YAML ("50000", "[]", "zipf", "[{at: 5s, for: 2s}]"). The result is
// decoded as strictly as a file, and defaults are re-applied; Validate still
// has to be called. On error s is unchanged.
func (s *Scenario) Set(path, value string) error {
	var root yaml.Node
	if err := root.Encode(s); err != nil {
		return fmt.Errorf("--set %s=%s: encode scenario: %w", path, value, err)
	}
	if err := applySet(&root, path+"="+value); err != nil {
		return err
	}
	ns, err := decodeNode(s.File(), &root)
	if err != nil {
		return fmt.Errorf("--set %s=%s: %w", path, value, err)
	}
	ns.file, ns.lines, ns.Source = s.file, s.lines, s.Source
	for i := range ns.Faults {
		ns.Faults[i].Line = s.lineOf("faults[" + strconv.Itoa(i) + "]")
	}
	*s = *ns
	return nil
}

type setSeg struct {
	name string
	idx  []int
}

// parseSetPath splits "load.stages[0].to" into segments.
func parseSetPath(p string) ([]setSeg, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path; write e.g. load.start=500")
	}
	var segs []setSeg
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, fmt.Errorf("empty field name in %q; write e.g. load.stages[0].to", p)
		}
		seg := setSeg{name: name}
		if rest != "" || strings.Contains(part, "[") {
			rest = "[" + rest
			for rest != "" {
				if rest[0] != '[' {
					return nil, fmt.Errorf("bad index in %q; write e.g. load.stages[0].to", p)
				}
				end := strings.IndexByte(rest, ']')
				if end < 0 {
					return nil, fmt.Errorf("unclosed [ in %q; write e.g. load.stages[0].to", p)
				}
				n, err := strconv.Atoi(rest[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("index %q in %q is not a number >= 0; write e.g. [0]", rest[1:end], p)
				}
				seg.idx = append(seg.idx, n)
				rest = rest[end+1:]
			}
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// applySet applies "path=value" to a scenario's YAML tree in place.
func applySet(root *yaml.Node, set string) error {
	shown := set // keep every message on one line
	if strings.ContainsAny(set, "\n\r") {
		shown = strconv.Quote(set)
	}
	path, value, ok := strings.Cut(set, "=")
	if !ok {
		return fmt.Errorf("--set %s: missing \"=\"; write --set key=value, e.g. --set load.start=500", shown)
	}
	path = strings.TrimSpace(path)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("--set %s: %s", shown, fmt.Sprintf(format, args...))
	}
	segs, err := parseSetPath(path)
	if err != nil {
		return fail("%v", err)
	}
	var vdoc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &vdoc); err != nil {
		return fail("value is not valid YAML (%s); quote it", strings.Join(strings.Fields(err.Error()), " "))
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if vdoc.Kind == yaml.DocumentNode && len(vdoc.Content) > 0 {
		val = vdoc.Content[0]
	}

	cur, t, where := root, scenarioType, "scenario"
	for si, seg := range segs {
		if cur.Kind == yaml.ScalarNode && cur.ShortTag() == "!!null" {
			line := cur.Line
			*cur = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
		}
		if cur.Kind != yaml.MappingNode {
			return fail("%s is not a mapping; set it whole instead", where)
		}
		ft, known := fieldType(t, seg.name)
		if !known {
			if _, inline := structFields(t); inline && len(seg.idx) == 0 && si == len(segs)-1 {
				ft = reflect.TypeOf((*any)(nil)).Elem() // fault parameter
			} else {
				return fail("unknown field %q in %s (known: %s)", seg.name, where, knownKeys(t))
			}
		}
		var node *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == seg.name {
				node = cur.Content[i+1]
				break
			}
		}
		if node == nil {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg.name, Line: cur.Line}
			node = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: cur.Line}
			cur.Content = append(cur.Content, key, node)
		}
		where = joinPath(strings.TrimPrefix(where, "scenario"), seg.name)
		for _, ix := range seg.idx {
			if ft.Kind() != reflect.Slice {
				return fail("%s is not a list; drop the [%d]", where, ix)
			}
			n := 0
			if node.Kind == yaml.SequenceNode {
				n = len(node.Content)
			}
			if ix >= n {
				return fail("index %d out of range: %s has %d entries; use [0] to [%d], or set the whole list", ix, where, n, n-1)
			}
			node = node.Content[ix]
			ft = ft.Elem()
			where += "[" + strconv.Itoa(ix) + "]"
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if si == len(segs)-1 {
			line := node.Line
			*node = *val
			setLines(node, line, 0)
			return nil
		}
		if ft.Kind() != reflect.Struct {
			return fail("%s is a value, not a mapping; write --set %s=...", where, where)
		}
		cur, t = node, ft
	}
	return nil
}

// setLines gives an override's nodes the line of the value they replace, so
// later messages point at the line the override changed.
func setLines(n *yaml.Node, line, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	n.Line, n.Column = line, 0
	for _, c := range n.Content {
		setLines(c, line, depth+1)
	}
}
