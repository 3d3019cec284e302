package reports

import "testing"

// BenchmarkWriteAll measures writing every artefact of a 30 s result
// (result.json, 3 hlogs, md, junit, 6 plots as PNG+SVG, html).
func BenchmarkWriteAll(b *testing.B) {
	r := synthResult()
	rec := synthRecordings(1)
	for b.Loop() {
		if err := WriteAll(b.TempDir(), r, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderMarkdown(b *testing.B) {
	r := synthResult()
	for b.Loop() {
		_ = RenderMarkdown(r)
	}
}
