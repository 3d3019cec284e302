package scenarios

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes (and an arbitrary --set) to the loader: it
// must never panic, and every problem line must start with the file name (or
// "--set" for a bad override). Corpus: testdata/fuzz/FuzzParse (built-ins
// and broken files). Run: go test ./scenarios -run XXX -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	f.Add([]byte(base), "load.start=10")
	for _, n := range BuiltinNames() {
		data, err := builtinFS.ReadFile("builtin/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "")
	}
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		s, err := ParseWithOverrides("fz.yaml", data, sets)
		if err != nil {
			checkLines(t, err.Error(), "fz.yaml", set)
			return
		}
		if err := Validate(s, ValidateOptions{}); err != nil {
			checkLines(t, err.Error(), "fz.yaml", set)
		}
		s.Rescale(10e9)
		s.ScaleRate(0.5)
		_ = s.TotalDuration()
		_ = s.Set("load.start", "1")
	})
}

func checkLines(t *testing.T, msg, file, set string) {
	t.Helper()
	for _, l := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(l, file+":") && !(set != "" && strings.HasPrefix(l, "--set ")) {
			t.Fatalf("error line does not start with %s: %q", file, l)
		}
	}
}
