// Package merge combines the result directories of a sharded run (evbench
// run --shard i/N) into one normal result directory, losing nothing that
// can be kept: HDR histograms and .hlog interval logs are merged bucket by
// bucket (percentiles are recomputed, never averaged), counters summed,
// delivery verdicts combined and timelines aligned on the common clock. It
// works on result directories only, so it needs no store.
package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// shard is one input: its directory, result and shard field (written by
// evbench run --shard i/N).
type shard struct {
	dir  string
	res  *measure.Result
	meta measure.ShardInfo
}

func (s *shard) index() int { return s.meta.Index }

// load reads dir's result.json, refusing a directory without a result or
// a result that is not a shard.
func load(dir string) (*shard, error) {
	path := filepath.Join(dir, measure.ResultFile)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("merge: %s is not a directory; give the shard result directories (each holding %s)", dir, measure.ResultFile)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("merge: %s has no %s; is it a shard's --out directory, and did that shard finish?", dir, measure.ResultFile)
	}
	res, err := measure.ReadResult(path)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if res.Merge != nil {
		return nil, fmt.Errorf("merge: %s is already a merged result; merge the shard directories themselves", path)
	}
	sh := res.Shard
	if sh == nil || sh.Count < 1 {
		return nil, fmt.Errorf("merge: %s is not a shard result (no \"shard\" field with index and count); merge the outputs of evbench run --shard i/N", path)
	}
	if sh.Index < 0 || sh.Index >= sh.Count {
		return nil, fmt.Errorf("merge: %s: shard index %d is outside 0..%d", path, sh.Index, sh.Count-1)
	}
	return &shard{dir: dir, res: res, meta: *sh}, nil
}

// loadAll loads every directory and checks that they are shards of one
// run: the same scenario, the same N, the same run id, no index twice and,
// unless partial, none missing. It returns the shards by index and the
// missing indexes.
func loadAll(dirs []string, partial bool) ([]*shard, []int, error) {
	if len(dirs) == 0 {
		return nil, nil, errors.New("merge: no shard directories given; usage: evbench merge DIR... --out DIR")
	}
	var shards []*shard
	for _, d := range dirs {
		s, err := load(d)
		if err != nil {
			return nil, nil, err
		}
		shards = append(shards, s)
	}
	first := shards[0]
	byIndex := map[int]*shard{}
	for _, s := range shards {
		switch {
		case s.res.Scenario.Name != first.res.Scenario.Name:
			return nil, nil, fmt.Errorf("merge: %s ran scenario %q but %s ran %q: merge the shards of one run only", s.dir, s.res.Scenario.Name, first.dir, first.res.Scenario.Name)
		case s.res.Driver.Name != first.res.Driver.Name:
			return nil, nil, fmt.Errorf("merge: %s ran driver %q but %s ran %q: merge the shards of one run only", s.dir, s.res.Driver.Name, first.dir, first.res.Driver.Name)
		case s.meta.Count != first.meta.Count:
			return nil, nil, fmt.Errorf("merge: %s is shard %d/%d but %s is shard %d/%d: every shard of a run has the same N", s.dir, s.index(), s.meta.Count, first.dir, first.index(), first.meta.Count)
		case s.meta.RunID != first.meta.RunID:
			return nil, nil, fmt.Errorf("merge: %s has run id %q but %s has %q: these shards belong to different runs", s.dir, s.meta.RunID, first.dir, first.meta.RunID)
		}
		if prev, dup := byIndex[s.index()]; dup {
			return nil, nil, fmt.Errorf("merge: %s and %s are both shard %d/%d: give each shard once", prev.dir, s.dir, s.index(), s.meta.Count)
		}
		byIndex[s.index()] = s
	}
	var missing []int
	for i := 0; i < first.meta.Count; i++ {
		if byIndex[i] == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 && !partial {
		return nil, nil, fmt.Errorf("merge: shard(s) %s of %d missing (got %d directories); give every shard's directory, or --partial to merge what there is into a result marked incomplete",
			joinInts(missing), first.meta.Count, len(shards))
	}
	slices.SortFunc(shards, func(a, b *shard) int { return a.index() - b.index() })
	return shards, missing, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
