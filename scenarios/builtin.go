package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// builtinFS holds the built-in scenarios. Any builtin/*.yaml file is picked up
// automatically: adding a built-in is adding one file.
//
//go:embed builtin/*.yaml
var builtinFS embed.FS

// BuiltinNames lists the built-in scenario names, sorted.
func BuiltinNames() []string {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func isBuiltin(name string) bool {
	for _, n := range BuiltinNames() {
		if n == name {
			return true
		}
	}
	return false
}

// Builtin returns a fresh copy of the named built-in scenario (defaults
// applied, not validated).
func Builtin(name string) (*Scenario, error) { return builtinWithOverrides(name, nil) }

func builtinWithOverrides(name string, sets []string) (*Scenario, error) {
	if !isBuiltin(name) {
		return nil, fmt.Errorf("unknown built-in scenario %q; use one of: %s", name, strings.Join(BuiltinNames(), ", "))
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("scenarios: read built-in %s: %w", name, err)
	}
	s, err := ParseWithOverrides(name+".yaml", data, sets)
	if err != nil {
		return nil, err
	}
	s.Source = "builtin:" + name
	return s, nil
}

// Builtins returns every built-in scenario sorted by name. A built-in that
// fails to parse is left out (the package tests guarantee none does).
func Builtins() []*Scenario {
	var out []*Scenario
	for _, n := range BuiltinNames() {
		if s, err := Builtin(n); err == nil {
			out = append(out, s)
		}
	}
	return out
}
