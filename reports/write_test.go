package reports

import (
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAllArtefacts(t *testing.T) {
	dir := t.TempDir()
	r := measuretest.Result()
	r.Series.CommitP50, r.Series.CommitP95, r.Series.CommitP99 = nil, nil, nil // filled from intervals
	if _, err := measuretest.Record(r, dir, 1); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(dir, r); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}
	for _, name := range []string{"result.json", "commit.hlog", "service_time.hlog", "e2e.hlog", "report.md", "report.html", "junit.xml",
		"plots/commit_latency.png", "plots/commit_latency.svg", "plots/e2e_latency.png", "plots/percentile_spectrum.png",
		"plots/percentile_spectrum.svg", "plots/lag.png", "plots/throughput.png", "plots/rebuild.svg"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("missing %s: %v", name, err)
			continue
		}
		if fi.Size() < 100 {
			t.Errorf("%s is only %d bytes", name, fi.Size())
		}
	}
	got, err := measure.ReadResult(dir)
	if err != nil {
		t.Fatalf("ReadResult: %v", err)
	}
	if got.Histograms.Commit == "" || got.Histograms.E2E == "" || got.Histograms.Unit != "ns" {
		t.Errorf("histograms not filled: %+v", got.Histograms)
	}
	if len(got.Series.CommitP50) != len(got.Series.T) || got.Series.CommitP99[3] <= 0 {
		t.Errorf("commit series not rebuilt from intervals: %v", got.Series.CommitP99)
	}
	h, err := measure.DecodeHistogram(got.Histograms.Commit)
	if err != nil || h.TotalCount() != 30_000 {
		t.Fatalf("decoded commit histogram: count %v err %v", h, err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for _, want := range []string{`id="summary"`, "data:image/svg", "commit.p95 &lt; 20ms", "campaign"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<link"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("report.html refers to the network: %q", bad)
		}
	}
}

func TestWriteAllIncomplete(t *testing.T) {
	tests := []struct {
		name string
		r    *measure.Result
		rec  []*measure.Recorder
	}{
		{"empty", &measure.Result{}, nil},
		{"no intervals", &measure.Result{Schema: measure.SchemaV1, Reason: "store unreachable", StartedAt: measuretest.Start},
			[]*measure.Recorder{measure.NewRecorder("commit", measuretest.Start, nil)}},
		{"one value", &measure.Result{Schema: measure.SchemaV1, Series: measure.Series{T: []float64{0}, Offered: []float64{1}, Achieved: []float64{0}, Lag: []int64{0}, LagT: []float64{0}}},
			func() []*measure.Recorder {
				rc := measure.NewRecorder("e2e", measuretest.Start, nil)
				rc.Record(5e6)
				rc.Close(measuretest.Start)
				return []*measure.Recorder{rc}
			}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := measure.FillHistograms(tc.r, tc.rec...); err != nil {
				t.Fatal(err)
			}
			if err := WriteAll(dir, tc.r); err != nil {
				t.Fatalf("WriteAll: %v", err)
			}
			r, err := measure.ReadResult(filepath.Join(dir, "result.json"))
			if err != nil {
				t.Fatal(err)
			}
			if r.Complete {
				t.Error("incomplete result read back as complete")
			}
			ju, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
			if !strings.Contains(string(ju), `name="run.complete"`) || !strings.Contains(string(ju), "run incomplete") {
				t.Errorf("junit.xml lacks the failing run.complete case:\n%s", ju)
			}
			if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestReadResultBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"newer schema", write("v2.json", `{"schema":"evbench.result/v2","complete":true}`), "written by a newer evbench"},
		{"truncated", write("trunc.json", `{"schema":"evbench.result/v1","complete":tr`), "truncated"},
		{"no schema", write("noschema.json", `{"complete":true}`), `no "schema" field`},
		{"other schema", write("other.json", `{"schema":"k6/summary"}`), "unknown schema"},
		{"wrong types", write("types.json", `{"schema":"evbench.result/v1","complete":"yes"}`), "do not match"},
		{"missing", filepath.Join(dir, "nope.json"), "does not exist"},
		{"empty dir", t.TempDir(), "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := measure.ReadResult(tc.path)
			if err == nil {
				t.Fatal("ReadResult succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(tc.path)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestRegenerate(t *testing.T) {
	dir := t.TempDir()
	r := measuretest.Result()
	if _, err := measuretest.Record(r, dir, 3); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.md", "report.html", "junit.xml", "plots"} {
		os.RemoveAll(filepath.Join(dir, name))
	}
	if err := Regenerate(dir); err != nil {
		t.Fatalf("Regenerate: %v", err)
	}
	for _, name := range []string{"report.md", "report.html", "junit.xml", "plots/lag.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("not regenerated: %v", err)
		}
	}
	// A missing .hlog is named in the error; the rest is still written.
	os.Remove(filepath.Join(dir, "e2e.hlog"))
	os.Remove(filepath.Join(dir, "report.md"))
	err := Regenerate(dir)
	if err == nil || !strings.Contains(err.Error(), "e2e.hlog") {
		t.Fatalf("Regenerate without e2e.hlog: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Errorf("report.md not written despite the missing hlog: %v", err)
	}
}

func TestMergeHistogramsFromResult(t *testing.T) {
	// Two runs' histograms, stored in result.json, merged later must give
	// the same percentiles as one histogram of all values.
	all := measure.NewHistogram()
	var merged = measure.NewHistogram()
	for i, seed := range []int64{10, 11} {
		dir := t.TempDir()
		res := &measure.Result{Schema: measure.SchemaV1, StartedAt: measuretest.Start}
		recs, err := measuretest.Record(res, "", seed)
		if err != nil {
			t.Fatal(err)
		}
		if n := all.Merge(recs[0].Total()); n != 0 {
			t.Fatalf("merge dropped %d", n)
		}
		if err := WriteAll(dir, res); err != nil {
			t.Fatal(err)
		}
		r, err := measure.ReadResult(dir)
		if err != nil {
			t.Fatal(err)
		}
		h, err := measure.DecodeHistogram(r.Histograms.Commit)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if n := merged.Merge(h); n != 0 {
			t.Fatalf("run %d: merge dropped %d values", i, n)
		}
	}
	if merged.TotalCount() != 60_000 || merged.TotalCount() != all.TotalCount() {
		t.Fatalf("merged count %d, want %d", merged.TotalCount(), all.TotalCount())
	}
	for _, q := range []float64{50, 90, 99, 99.9, 99.99, 100} {
		if a, b := merged.ValueAtQuantile(q), all.ValueAtQuantile(q); a != b {
			t.Errorf("p%v: merged %d, direct %d", q, a, b)
		}
	}
	if measure.Summarize(merged) != measure.Summarize(all) {
		t.Errorf("summaries differ: %+v vs %+v", measure.Summarize(merged), measure.Summarize(all))
	}
}

// A run whose projectors never reached the head fails the JUnit delivery
// case with the reason, even though nothing was called lost.
func TestJUnitUndrainedDeliveryFails(t *testing.T) {
	r := measuretest.Result()
	r.Delivery.Checked, r.Delivery.Undelivered = false, 42
	out, err := RenderJUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	i := strings.Index(s, `<testcase name="delivery"`)
	j := strings.Index(s[i:], "</testcase>")
	if i < 0 || j < 0 || !strings.Contains(s[i:i+j], "<failure") || !strings.Contains(s[i:i+j], "inconclusive") || !strings.Contains(s[i:i+j], "42") {
		t.Fatalf("delivery case of an undrained run:\n%s", s[i:i+j])
	}
}

// A crash's RTO and RPO appear in both reports.
func TestRecoveryRendered(t *testing.T) {
	r := measuretest.Result()
	r.Recovery = []measure.Recovery{{Fault: "power-loss", AtS: 15, RTOAppendS: 2.3, AppendRecovered: true, RTOProjectionS: 4.1, RPOEvents: 1234, RPOSeconds: 14.9}}
	md := string(RenderMarkdown(r))
	html, err := RenderHTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"report.md": md, "report.html": string(html)} {
		if !strings.Contains(s, "Recovery (RTO, RPO)") || !strings.Contains(s, "1234") || !strings.Contains(s, "not recovered") {
			t.Errorf("%s lacks the recovery table (or the unrecovered projection)", name)
		}
	}
}
