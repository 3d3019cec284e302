package reports

import (
	"github.com/evbench/evbench/reports/measure/measuretest"
	"testing"
)

// BenchmarkWriteAll measures writing every artefact of a 30 s result
// (result.json, md, junit, 6 plots as PNG+SVG, html).
func BenchmarkWriteAll(b *testing.B) {
	r := measuretest.Result()
	if _, err := measuretest.Record(r, "", 1); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := WriteAll(b.TempDir(), r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderMarkdown(b *testing.B) {
	r := measuretest.Result()
	for b.Loop() {
		_ = RenderMarkdown(r)
	}
}
