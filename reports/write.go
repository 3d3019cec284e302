package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Recordings are the run's recorders; any may be nil (not measured).
type Recordings struct {
	Commit, ServiceTime, E2E *Recorder
}

// Artefact file names inside a result directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
	PlotsDir     = "plots"
)

// WriteAll fills r.Histograms from the recorders (and the latency summaries
// and per-second series when the runner left them empty), then writes
// result.json, the .hlog interval logs, report.md, report.html, junit.xml
// and plots/ under dir. It is best effort: it works for incomplete results,
// writes everything it can, and returns every failure joined. result.json
// is written first, so the lossless data survives a rendering bug.
func WriteAll(dir string, r *Result, rec Recordings) error {
	if r == nil {
		return fmt.Errorf("reports: WriteAll %s: nil result", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: create result directory %s: %w", dir, err)
	}
	if r.Schema == "" {
		r.Schema = SchemaV1
	}
	var errs []error
	r.Histograms.Unit = "ns"
	recs := []struct {
		name string
		rec  *Recorder
		hist *string
		sum  *Percentiles
	}{
		{"commit", rec.Commit, &r.Histograms.Commit, &r.Commit},
		{"service_time", rec.ServiceTime, &r.Histograms.ServiceTime, &r.ServiceTime},
		{"e2e", rec.E2E, &r.Histograms.E2E, &r.E2E},
	}
	for _, x := range recs {
		if x.rec == nil {
			continue
		}
		// Close the open interval only: flushing "now" could add many
		// empty seconds to a recorder whose run ended long ago.
		x.rec.Flush(x.rec.start, true)
		total := x.rec.Total()
		s, err := EncodeHistogram(total)
		if err != nil {
			errs = append(errs, fmt.Errorf("reports: %s histogram: %w", x.name, err))
		} else {
			*x.hist = s
		}
		if x.sum.Count == 0 {
			*x.sum = Summarize(total)
		}
		ivs := x.rec.Intervals()
		fillSeries(r, x.name, ivs)
		start := r.StartedAt
		if start.IsZero() {
			start = x.rec.start
		}
		if err := writeHlogFile(filepath.Join(dir, HlogNames[x.name]), start, ivs); err != nil {
			errs = append(errs, err)
		}
	}
	sanitize(r)
	if err := writeResultJSON(filepath.Join(dir, ResultFile), r); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeArtefacts(dir, r))
	return errors.Join(errs...)
}

// writeResultJSON writes the indented result.
func writeResultJSON(path string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return nil
}

// Regenerate rebuilds every artefact except result.json and the .hlog files
// from a result directory. Each .hlog the result refers to must exist (a
// missing one is reported by name); whatever can be written still is.
// Per-second latency series missing from result.json are rebuilt from the
// interval logs.
func Regenerate(dir string) error {
	r, err := ReadResult(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	var errs []error
	for _, x := range []struct{ name, hist string }{
		{"commit", r.Histograms.Commit}, {"service_time", r.Histograms.ServiceTime}, {"e2e", r.Histograms.E2E},
	} {
		if x.hist == "" {
			continue
		}
		path := filepath.Join(dir, HlogNames[x.name])
		hs, err := ReadHlog(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("reports: %s is missing: the %s interval log of this result; per-second %s series come from result.json only", path, x.name, x.name)
			}
			errs = append(errs, err)
			continue
		}
		ivs := make([]Interval, 0, len(hs))
		base := r.StartedAt.UnixMilli()
		for _, h := range hs {
			ivs = append(ivs, Interval{
				StartS: float64(h.StartTimeMs()-base) / 1000, EndS: float64(h.EndTimeMs()-base) / 1000, Hist: h,
			})
		}
		fillSeries(r, x.name, ivs)
	}
	sanitize(r)
	errs = append(errs, writeArtefacts(dir, r))
	return errors.Join(errs...)
}

// writeArtefacts writes report.md, junit.xml, plots and report.html.
func writeArtefacts(dir string, r *Result) error {
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

// fillSeries sets the per-second p50/p95/p99 of a latency series from
// interval histograms when the runner left them empty, aligned with
// Series.T (which it sets when empty too).
func fillSeries(r *Result, name string, ivs []Interval) {
	var p50, p95, p99 *[]float64
	switch name {
	case "commit":
		p50, p95, p99 = &r.Series.CommitP50, &r.Series.CommitP95, &r.Series.CommitP99
	case "e2e":
		p50, p95, p99 = &r.Series.E2EP50, &r.Series.E2EP95, &r.Series.E2EP99
	default:
		return
	}
	if len(*p50) > 0 || len(ivs) == 0 {
		return
	}
	if len(r.Series.T) == 0 {
		for _, iv := range ivs {
			r.Series.T = append(r.Series.T, iv.StartS)
		}
	}
	byStart := map[int64]*hdr.Histogram{}
	for _, iv := range ivs {
		byStart[int64(iv.StartS+0.5)] = iv.Hist
	}
	ms := func(h *hdr.Histogram, q float64) float64 {
		if h == nil || h.TotalCount() == 0 {
			return 0
		}
		return float64(h.ValueAtQuantile(q)) / 1e6
	}
	a, b, c := make([]float64, len(r.Series.T)), make([]float64, len(r.Series.T)), make([]float64, len(r.Series.T))
	for i, t := range r.Series.T {
		h := byStart[int64(t+0.5)]
		a[i], b[i], c[i] = ms(h, 50), ms(h, 95), ms(h, 99)
	}
	*p50, *p95, *p99 = a, b, c
}
