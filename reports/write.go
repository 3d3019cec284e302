package reports

import (
	"errors"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"os"
	"path/filepath"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Artefact file names inside a result directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
	PlotsDir     = "plots"
)

// WriteAll writes result.json, report.md, report.html, junit.xml and plots/
// under dir. The .hlog interval logs are not written here: the runner
// streams them into the result directory while the run goes
// (runner.Config.OutDir); per-second latency series missing from the
// result are rebuilt from them when they are there. It is best effort: it
// works for incomplete results, writes everything it can, and returns
// every failure joined. result.json is written first, so the lossless data
// survives a rendering bug.
func WriteAll(dir string, r *measure.Result) error {
	if r == nil {
		return fmt.Errorf("reports: WriteAll %s: nil result", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: create result directory %s: %w", dir, err)
	}
	if r.Schema == "" {
		r.Schema = measure.SchemaV1
	}
	if r.Histograms.Unit == "" {
		r.Histograms.Unit = "ns"
	}
	var errs []error
	for _, name := range []string{"commit", "e2e"} {
		if err := seriesFromHlog(dir, r, name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := measure.WriteResult(filepath.Join(dir, measure.ResultFile), r); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeArtefacts(dir, r))
	return errors.Join(errs...)
}

// Regenerate rebuilds every artefact except result.json and the .hlog files
// from a result directory. Each .hlog the result refers to must exist (a
// missing one is reported by name); whatever can be written still is.
// Per-second latency series missing from result.json are rebuilt from the
// interval logs.
func Regenerate(dir string) error {
	r, err := measure.ReadResult(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	var errs []error
	for _, x := range []struct{ name, hist string }{
		{"commit", r.Histograms.Commit}, {"service_time", r.Histograms.ServiceTime},
		{"e2e", r.Histograms.E2E}, {"send_delay", r.Histograms.SendDelay},
	} {
		if x.hist == "" {
			continue
		}
		path := filepath.Join(dir, measure.HlogNames[x.name])
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("reports: %s is missing: the %s interval log of this result; per-second %s series come from result.json only", path, x.name, x.name))
			continue
		}
		if err := seriesFromHlog(dir, r, x.name); err != nil {
			errs = append(errs, err)
		}
	}
	measure.Sanitize(r)
	errs = append(errs, writeArtefacts(dir, r))
	return errors.Join(errs...)
}

// writeArtefacts writes report.md, junit.xml, plots and report.html.
func writeArtefacts(dir string, r *measure.Result) error {
	var errs []error
	write := func(name string, b []byte, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: render %s: %w", name, err))
			if b == nil {
				return
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("reports: write %s: %w", filepath.Join(dir, name), err))
		}
	}
	ju, err := safeRender(func() ([]byte, error) { return RenderJUnit(r) })
	write(JUnitFile, ju, err)

	plots, err := RenderPlots(r)
	if err != nil {
		errs = append(errs, err)
	}
	if len(plots) > 0 {
		pdir := filepath.Join(dir, PlotsDir)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("reports: create %s: %w", pdir, err))
		} else {
			for _, p := range plots {
				for ext, b := range map[string][]byte{".svg": p.SVG, ".png": p.PNG} {
					if len(b) == 0 {
						continue
					}
					path := filepath.Join(pdir, p.Name+ext)
					if err := os.WriteFile(path, b, 0o644); err != nil {
						errs = append(errs, fmt.Errorf("reports: write %s: %w", path, err))
					}
				}
			}
		}
	}
	md, err := safeRender(func() ([]byte, error) { return RenderMarkdownWithPlots(r, plots), nil })
	write(MarkdownFile, md, err)
	html, err := safeRender(func() ([]byte, error) { return RenderHTML(r, plots) })
	write(HTMLFile, html, err)
	return errors.Join(errs...)
}

// safeRender turns a renderer panic (a bug on odd input) into an error, so
// one broken artefact never costs the others.
func safeRender(f func() ([]byte, error)) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("internal error (please report): %v", p)
		}
	}()
	return f()
}

// seriesFromHlog sets the per-second p50/p95/p99 of the commit or e2e
// series from dir's interval log when the result lacks them, aligned with
// Series.T (which it sets when empty too). It streams the log: one interval
// in memory at a time.
func seriesFromHlog(dir string, r *measure.Result, name string) error {
	var p50, p95, p99 *[]float64
	switch name {
	case "commit":
		p50, p95, p99 = &r.Series.CommitP50, &r.Series.CommitP95, &r.Series.CommitP99
	case "e2e":
		p50, p95, p99 = &r.Series.E2EP50, &r.Series.E2EP95, &r.Series.E2EP99
	default:
		return nil
	}
	if len(*p50) > 0 {
		return nil
	}
	type q3 struct{ a, b, c float64 }
	byStart := map[int64]q3{}
	var starts []float64
	base := r.StartedAt.UnixMilli()
	err := measure.EachInterval(filepath.Join(dir, measure.HlogNames[name]), func(h *hdr.Histogram) error {
		st := float64(h.StartTimeMs()-base) / 1000
		starts = append(starts, st)
		if h.TotalCount() > 0 {
			byStart[int64(st+0.5)] = q3{float64(h.ValueAtQuantile(50)) / 1e6, float64(h.ValueAtQuantile(95)) / 1e6, float64(h.ValueAtQuantile(99)) / 1e6}
		}
		return nil
	})
	if err != nil || len(starts) == 0 {
		return err
	}
	if len(r.Series.T) == 0 {
		r.Series.T = starts
	}
	n := len(r.Series.T)
	a, b, c := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, t := range r.Series.T {
		q := byStart[int64(t+0.5)]
		a[i], b[i], c[i] = q.a, q.b, q.c
	}
	*p50, *p95, *p99 = a, b, c
	return nil
}
