package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var scenarioType = reflect.TypeOf(Scenario{})

// LoadFile reads a scenario YAML file strictly (unknown fields are errors)
// and applies defaults. (It is not called Load: that name is the load-profile
// type.) It does not run Validate: the caller wires the gate and fault hooks
// into ValidateOptions and calls Validate itself.
func LoadFile(path string) (*Scenario, error) { return LoadWithOverrides(path, nil) }

// LoadWithOverrides is LoadFile with --set overrides ("load.start=500") applied to
// the YAML tree before decoding, so strictness and validation see the result.
// A relative events.fixture is resolved against the file's folder when the
// fixture exists there, so the returned path opens from the working directory.
func LoadWithOverrides(path string, sets []string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read scenario: %v; check the path, or use a built-in (%s)", path, unwrapPathErr(err), strings.Join(BuiltinNames(), ", "))
	}
	s, err := ParseWithOverrides(path, data, sets)
	if err != nil {
		return nil, err
	}
	s.Source = path
	if f := s.Events.Fixture; f != "" && !filepath.IsAbs(f) {
		cand := filepath.Join(filepath.Dir(path), f)
		if _, err := os.Stat(cand); err == nil {
			s.Events.Fixture = cand
		}
	}
	return s, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse decodes scenario YAML strictly and applies defaults. name is the file
// name used in error messages. Errors are joined, one line per problem, each
// starting with "name:line:".
func Parse(name string, data []byte) (*Scenario, error) {
	return ParseWithOverrides(name, data, nil)
}

// ParseWithOverrides is Parse with --set overrides applied to the YAML tree
// first (see Scenario.Set for the path syntax).
func ParseWithOverrides(name string, data []byte, sets []string) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root == nil || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}
	}
	var problems []string
	for _, set := range sets {
		if err := applySet(root, set); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, joinLines(problems)
	}
	return decodeNode(name, root)
}

// decodeNode checks root against the schema and decodes it.
func decodeNode(name string, root *yaml.Node) (s *Scenario, err error) {
	defer func() {
		// yaml.v3 is robust, but a loader of outside input must never panic.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s: cannot decode scenario: %v; simplify the file", name, r)
		}
	}()
	w := &schemaWalker{file: name, lines: map[string]int{}}
	w.walk(root, scenarioType, "", 0)
	if len(w.errs) > 0 {
		return nil, joinLines(w.errs)
	}
	s = new(Scenario)
	if err := root.Decode(s); err != nil {
		return nil, yamlError(name, err)
	}
	s.file = name
	s.lines = w.lines
	for i := range s.Faults {
		s.Faults[i].Line = w.lines["faults["+strconv.Itoa(i)+"]"]
	}
	ApplyDefaults(s)
	return s, nil
}

var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner); v3.0.1 reports their line 0-based, so they get +1.
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// yamlError turns yaml.v3's errors into one "file:line: problem; fix" line each.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	isType := errors.As(err, &te)
	if isType {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		m = strings.Join(strings.Fields(m), " ")
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			if !isType && yamlParserProblems[sm[2]] {
				line++ // yaml.v3 reports parser (not scanner) errors 0-based
			}
			out = append(out, fmt.Sprintf("%s:%d: syntax: %s; fix the YAML there", name, line, sm[2]))
			continue
		}
		out = append(out, fmt.Sprintf("%s: syntax: %s; fix the YAML", name, strings.TrimPrefix(m, "yaml: ")))
	}
	return joinLines(out)
}

// joinLines makes one error whose message is the given lines, newline-joined.
func joinLines(lines []string) error {
	errs := make([]error, len(lines))
	for i, l := range lines {
		errs[i] = errors.New(l)
	}
	return errors.Join(errs...)
}

// Resolve finds a scenario by built-in name, else by file path, and applies
// --set overrides. It does not Validate.
func Resolve(nameOrPath string, sets []string) (*Scenario, error) {
	if isBuiltin(nameOrPath) {
		return builtinWithOverrides(nameOrPath, sets)
	}
	if st, err := os.Stat(nameOrPath); err == nil && !st.IsDir() {
		return LoadWithOverrides(nameOrPath, sets)
	}
	return nil, fmt.Errorf("unknown scenario %q: not a built-in (%s) and no such file", nameOrPath, strings.Join(BuiltinNames(), ", "))
}

// File is the name the scenario uses in error messages.
func (s *Scenario) File() string {
	if s.file != "" {
		return s.file
	}
	if s.Source != "" {
		return s.Source
	}
	if s.Name != "" {
		return s.Name + ".yaml"
	}
	return "scenario"
}

// lineOf returns the YAML line of path, or of its nearest recorded parent.
func (s *Scenario) lineOf(path string) int {
	for p := path; p != ""; {
		if l, ok := s.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}
