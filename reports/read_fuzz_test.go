package reports

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

// FuzzReadResult: any file content gives a result or an error, never a panic.
func FuzzReadResult(f *testing.F) {
	for _, s := range []string{`{"schema":"evbench.result/v1"}`, `{"schema":"evbench.result/v2"}`, `{"schema":"evbench.result/v`,
		`{"schema":"evbench.result/v1","gates":[{"expr":"x"}],"rebuild":null}`, `[]`, `null`, ``} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "result.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := measure.ReadResult(p)
		if err == nil {
			_ = measure.Metrics(r)
			_ = RenderMarkdown(r)
			if _, err := RenderJUnit(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
