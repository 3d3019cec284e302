package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/evbench/evbench/reports/measure"
)

// Options tune a merge.
type Options struct {
	// Partial merges whatever shards were given when some of 0..N-1 are
	// missing, marking the result incomplete; without it a missing shard
	// is an error.
	Partial bool
}

// Dirs merges the shard result directories dirs into out: it writes the
// merged .hlog interval logs there and returns the merged result, which the
// caller writes with reports.WriteAll(out, r) (result.json, report.md,
// report.html, junit.xml, plots; the per-second latency series are then
// rebuilt from the merged interval logs). Bad input (not a shard, shards of
// different runs, scenarios or N, an index twice, a missing shard without
// Partial, out already holding a result) is a one-line error before
// anything is written.
func Dirs(dirs []string, out string, opt Options) (*measure.Result, error) {
	if out == "" {
		return nil, errors.New("merge: --out is required: the directory the merged result goes to")
	}
	absOut, _ := filepath.Abs(out)
	for _, d := range dirs {
		if a, _ := filepath.Abs(d); a == absOut {
			return nil, fmt.Errorf("merge: --out %s is one of the shard directories; write the merged result to a new directory", out)
		}
	}
	if _, err := os.Stat(filepath.Join(out, measure.ResultFile)); err == nil {
		return nil, fmt.Errorf("merge: --out %s already holds a %s; choose a new directory", out, measure.ResultFile)
	}
	shards, missing, err := loadAll(dirs, opt.Partial)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("merge: create %s: %w", out, err)
	}
	m := &merger{shards: shards, out: out}
	return m.merge(missing)
}

// merger holds one merge's inputs and the common clock.
type merger struct {
	shards []*shard
	out    string
	start  time.Time // the earliest shard's start: 0 s of the merged clock
	notes  []string
	// logTotals are, by interval log name, the merged intervals after the
	// warm-up (intervalLogs).
	logTotals map[string]*hdr.Histogram
}

// shift is how many seconds after the merged start shard s started: add
// it to a time on s's clock (seconds since its start) to place it on the
// merged clock.
func (m *merger) shift(s *shard) float64 { return s.res.StartedAt.Sub(m.start).Seconds() }

func (m *merger) each(f func(s *shard, r *measure.Result)) {
	for _, s := range m.shards {
		f(s, s.res)
	}
}

func (m *merger) merge(missing []int) (*measure.Result, error) {
	first := m.shards[0].res
	m.start = first.StartedAt
	m.each(func(_ *shard, r *measure.Result) {
		if r.StartedAt.Before(m.start) {
			m.start = r.StartedAt
		}
	})
	res := &measure.Result{
		Schema:     measure.SchemaV1,
		Complete:   len(missing) == 0,
		Scenario:   first.Scenario,
		Driver:     first.Driver,
		Durability: first.Durability,
		StartedAt:  m.start,
		CatchUp:    []measure.CatchUp{},
		Faults:     []measure.FaultWindow{},
		Gates:      []measure.GateResult{},
	}
	var reasons []string
	if len(missing) > 0 {
		reasons = append(reasons, fmt.Sprintf("partial merge: shard(s) %s of %d missing", joinInts(missing), m.shards[0].meta.Count))
	}
	m.each(func(s *shard, r *measure.Result) {
		if !r.Complete {
			res.Complete = false
			reasons = append(reasons, fmt.Sprintf("shard %d: %s", s.index(), r.Reason))
		}
		if d := r.Durability; d != nil && first.Durability != nil && *d != *first.Durability {
			m.notef("shard %d ran with another durability (%s) than shard %d (%s)", s.index(), d.AckAfterFsync, m.shards[0].index(), first.Durability.AckAfterFsync)
		}
		res.DurationS = max(res.DurationS, m.shift(s)+r.DurationS)
	})
	res.Reason = strings.Join(reasons, "; ")

	m.counts(res)
	if err := m.histograms(res); err != nil {
		return nil, err
	}
	if err := m.intervalLogs(res); err != nil {
		return nil, err
	}
	m.timeline(res)
	m.delivery(res)
	m.client(res)
	m.environment(res)
	m.rest(res)
	m.sections(res)

	info := &measure.MergeInfo{Shards: len(m.shards), Count: m.shards[0].meta.Count, RunID: m.shards[0].meta.RunID, Missing: missing}
	m.each(func(s *shard, _ *measure.Result) {
		info.Indexes = append(info.Indexes, s.index())
		info.Sources = append(info.Sources, s.dir)
	})
	if n := estimateClocks(m.shards, info, res.E2E.P50); n != "" {
		m.notes = append(m.notes, n)
	}
	res.Merge = info
	m.judge(res, first)
	res.Notes = append(res.Notes, m.notes...)
	return res, nil
}

func (m *merger) notef(format string, args ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, args...))
}

// counts sums the generator's counters and recomputes the rates: offered
// is the sum of the shards' offered rates (each offered its 1/N share over
// the same span); achieved is every acknowledged event over the common
// span from the first shard's start to the last shard's last ack.
func (m *merger) counts(res *measure.Result) {
	var span float64
	m.each(func(s *shard, r *measure.Result) {
		e, t := &res.Events, r.Events
		e.Scheduled += t.Scheduled
		e.Sent += t.Sent
		e.Acked += t.Acked
		e.Failed += t.Failed
		e.Late += t.Late
		e.WindowFull += t.WindowFull
		e.Unsent += t.Unsent
		e.Retried += t.Retried
		e.GaveUp += t.GaveUp
		res.OfferedRate += r.OfferedRate
		if r.AchievedRate > 0 {
			span = max(span, m.shift(s)+float64(t.Acked)/r.AchievedRate)
		}
		for _, ec := range r.Errors {
			i := slices.IndexFunc(res.Errors, func(x measure.ErrorCount) bool { return x.Op == ec.Op && x.Message == ec.Message })
			if i < 0 {
				res.Errors = append(res.Errors, ec)
			} else {
				res.Errors[i].Count += ec.Count
			}
		}
	})
	if span > 0 {
		res.AchievedRate = float64(res.Events.Acked) / span
	}
}

// histograms merges the whole-run histograms of result.json and recomputes
// every percentile from them.
func (m *merger) histograms(res *measure.Result) error {
	res.Histograms.Unit = "ns"
	for _, x := range []struct {
		name string
		enc  func(*measure.Histograms) *string
		pct  *measure.Percentiles
	}{
		{"commit", func(h *measure.Histograms) *string { return &h.Commit }, &res.Commit},
		{"service_time", func(h *measure.Histograms) *string { return &h.ServiceTime }, &res.ServiceTime},
		{"e2e", func(h *measure.Histograms) *string { return &h.E2E }, &res.E2E},
		{"send_delay", func(h *measure.Histograms) *string { return &h.SendDelay }, &res.SendDelay},
		{"failed", func(h *measure.Histograms) *string { return &h.Failed }, &res.FailedLatency},
	} {
		var encoded []string
		var clamped int64
		without := 0
		m.each(func(_ *shard, r *measure.Result) {
			s := *x.enc(&r.Histograms)
			encoded = append(encoded, s)
			clamped += r.Histograms.Clamped[x.name]
			pc := percentilesOf(r, x.name)
			if s == "" && pc.Count > 0 {
				without++
			}
		})
		if without > 0 {
			return fmt.Errorf("merge: %d shard(s) have %s percentiles but no encoded %s histogram in result.json; percentiles cannot be merged without it (re-run those shards with this evbench)", without, x.name, x.name)
		}
		h, err := mergeEncoded(x.name, encoded)
		if err != nil {
			return err
		}
		if h.TotalCount() == 0 {
			continue
		}
		s, err := measure.EncodeHistogram(h)
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		*x.enc(&res.Histograms) = s
		*x.pct = measure.Summarize(h)
		if clamped > 0 {
			if res.Histograms.Clamped == nil {
				res.Histograms.Clamped = map[string]int64{}
			}
			res.Histograms.Clamped[x.name] = clamped
		}
	}
	return nil
}

func percentilesOf(r *measure.Result, name string) measure.Percentiles {
	switch name {
	case "commit":
		return r.Commit
	case "service_time":
		return r.ServiceTime
	case "e2e":
		return r.E2E
	case "send_delay":
		return r.SendDelay
	case "failed":
		return r.FailedLatency
	}
	return measure.Percentiles{}
}

// intervalLogs merges every .hlog the shards hold and, when the run had a
// warm-up, recomputes the warm-up's percentiles from the merged intervals
// that fall in it (the warm-up's histograms are kept in the logs only).
func (m *merger) intervalLogs(res *measure.Result) error {
	var warmS int64
	var warm *measure.Warmup
	m.each(func(_ *shard, r *measure.Result) {
		if r.Warmup == nil {
			return
		}
		if warm == nil {
			warm = &measure.Warmup{Seconds: r.Warmup.Seconds}
			warmS = int64(r.Warmup.Seconds)
		}
		warm.Acked += r.Warmup.Acked
		warm.OfferedRate += r.Warmup.OfferedRate
		warm.AchievedRate += r.Warmup.AchievedRate
	})
	warmHists := map[string]*hdr.Histogram{}
	for _, name := range hlogNames(m.shards) {
		hm, err := mergeHlog(m.shards, name, m.out, m.start, warmS)
		if err != nil {
			return err
		}
		if hm == nil {
			continue
		}
		if hm.warm != nil {
			warmHists[name] = hm.warm
		}
		if m.logTotals == nil {
			m.logTotals = map[string]*hdr.Histogram{}
		}
		m.logTotals[name] = hm.total
	}
	if warm != nil {
		warm.Commit = measure.Summarize(warmHists[measure.HlogNames["commit"]])
		warm.ServiceTime = measure.Summarize(warmHists[measure.HlogNames["service_time"]])
		warm.E2E = measure.Summarize(warmHists[measure.HlogNames["e2e"]])
		res.Warmup = warm
	}
	return nil
}
