package merge

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/evbench/evbench/reports/measure"
)

// mergeEncoded decodes each shard's encoded histogram (base64 V2, as in
// result.json) and adds its buckets into one histogram of the shared
// geometry. Empty strings are shards that recorded nothing. A value the
// shared geometry cannot hold is an error, never a silent drop.
func mergeEncoded(name string, encoded []string) (*hdr.Histogram, error) {
	acc := measure.NewHistogram()
	for i, s := range encoded {
		if s == "" {
			continue
		}
		h, err := measure.DecodeHistogram(s)
		if err != nil {
			return nil, fmt.Errorf("merge: %s histogram of shard #%d: %w", name, i, err)
		}
		if dropped := acc.Merge(h); dropped > 0 {
			return nil, fmt.Errorf("merge: %s histogram of shard #%d: %d value(s) outside evbench's histogram range; was it written by another tool?", name, i, dropped)
		}
	}
	return acc, nil
}

// hlogReader walks one shard's interval log, one interval ahead.
type hlogReader struct {
	path string
	f    *os.File
	lr   *hdr.HistogramLogReader
	next *hdr.Histogram
	n    int
}

func openHlog(path string) (*hlogReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("merge: open interval log %s: %w", path, err)
	}
	r := &hlogReader{path: path, f: f, lr: hdr.NewHistogramLogReader(bufio.NewReader(f))}
	return r, r.advance()
}

func (r *hlogReader) advance() error {
	r.n++
	h, err := r.lr.NextIntervalHistogram()
	if err != nil {
		return fmt.Errorf("merge: read interval log %s (interval %d): %w", r.path, r.n, err)
	}
	r.next = h
	return nil
}

// hlogMerge is the outcome of merging one metric's interval logs.
type hlogMerge struct {
	intervals int
	// warm is the merged histogram of the intervals that start within the
	// warm-up (second index below warmupS); nil without a warm-up.
	warm *hdr.Histogram
	// total is the merged histogram of the intervals after the warm-up:
	// what a recorder's Total holds, for metrics whose whole-run histogram
	// result.json does not keep (the outbox's relay lag).
	total *hdr.Histogram
}

// mergeHlog merges the interval log name (e.g. commit.hlog) of every shard
// that has it into out/name, interval by interval on the common clock:
// each shard's interval is placed at the whole second nearest to its start
// after start (the merged run's start), and the intervals of one second are
// added bucket by bucket. It streams: one interval per shard in memory.
func mergeHlog(shards []*shard, name, out string, start time.Time, warmupS int64) (*hlogMerge, error) {
	var readers []*hlogReader
	defer func() {
		for _, r := range readers {
			r.f.Close()
		}
	}()
	for _, s := range shards {
		path := filepath.Join(s.dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		r, err := openHlog(path)
		if err != nil {
			return nil, err
		}
		readers = append(readers, r)
	}
	if len(readers) == 0 {
		return nil, nil
	}
	w, err := measure.CreateHlog(filepath.Join(out, name), start)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res := &hlogMerge{total: measure.NewHistogram()}
	if warmupS > 0 {
		res.warm = measure.NewHistogram()
	}
	base := start.UnixMilli()
	slot := func(h *hdr.Histogram) int64 { return int64(math.Round(float64(h.StartTimeMs()-base) / 1000)) }
	acc := measure.NewHistogram()
	for {
		k := int64(math.MaxInt64)
		for _, r := range readers {
			if r.next != nil {
				k = min(k, slot(r.next))
			}
		}
		if k == math.MaxInt64 {
			break
		}
		acc.Reset()
		var endMs int64
		for _, r := range readers {
			for r.next != nil && slot(r.next) == k {
				h := r.next
				if acc.Tag() == "" {
					acc.SetTag(h.Tag())
				}
				if dropped := acc.Merge(h); dropped > 0 {
					w.Close()
					return nil, fmt.Errorf("merge: %s interval %d: %d value(s) outside evbench's histogram range", r.path, r.n, dropped)
				}
				endMs = max(endMs, h.EndTimeMs()-h.StartTimeMs())
				if err := r.advance(); err != nil {
					w.Close()
					return nil, err
				}
			}
		}
		acc.SetStartTimeMs(base + k*1000)
		acc.SetEndTimeMs(base + k*1000 + endMs)
		if res.warm != nil && k < warmupS {
			res.warm.Merge(acc)
		} else if k >= warmupS {
			res.total.Merge(acc)
		}
		if err := w.WriteInterval(acc, nil); err != nil {
			w.Close()
			return nil, fmt.Errorf("merge: write %s: %w", filepath.Join(out, name), err)
		}
		res.intervals++
	}
	return res, w.Close()
}

// hlogNames lists the interval logs (*.hlog) any shard holds, sorted.
func hlogNames(shards []*shard) []string {
	seen := map[string]bool{}
	for _, s := range shards {
		entries, _ := os.ReadDir(s.dir)
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".hlog") {
				seen[e.Name()] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
