package runner

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// Shard makes a run the Index-th of Count equal parts of the scenario's
// workload (evbench run --shard i/N): rates divided by Count, the keys k
// with k % Count == Index, event IDs that differ per shard, and a start
// instant common to every shard. Faults, consumer pauses and the rebuild
// run on the Lead shard only; every shard records their windows.
type Shard struct {
	Index, Count int
	// RunID is common to every shard of the run: the barrier's markers and
	// the result carry it, and event IDs derive from it.
	RunID string
	// StartAt is the load's t=0 on the wall clock (--start-at); zero with
	// Barrier.
	StartAt time.Time
	// Barrier agrees the start through the store: each shard appends a
	// marker and waits until it has seen Count of them (barrier.go).
	Barrier bool
	// BarrierTimeout bounds the wait for the other shards' markers.
	BarrierTimeout time.Duration
	// BarrierLead is added to the latest marker's clock to make the common
	// start, so every shard has seen the markers and set up before it.
	BarrierLead time.Duration
	Lead        int

	interrupted func() bool // set by the barrier: the run's context ended
}

// Defaults of the barrier.
const (
	DefaultBarrierTimeout = 60 * time.Second
	DefaultBarrierLead    = 2 * time.Second
	// MaxShards is the largest N: an event ID holds the shard index in 16 bits,
	// and 0xffff marks barrier markers.
	MaxShards = 1<<16 - 1
)

// ParseShard reads --shard i/N.
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("--shard %q: want i/N, the shard index and the number of shards, e.g. --shard 0/3", s)
	case n < 1 || n > MaxShards:
		return 0, 0, fmt.Errorf("--shard %q: N must be 1 to %d", s, MaxShards)
	case i < 0 || i >= n:
		return 0, 0, fmt.Errorf("--shard %q: the index must be 0 to %d (shards are numbered from 0)", s, n-1)
	}
	return i, n, nil
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// DefaultRunID is the run ID every shard derives alike when --run-id is not
// given: the scenario and the start instant (--start-at), or the scenario
// and N (--barrier; the event IDs still differ per run, since they also
// derive from the agreed start instant).
func DefaultRunID(sc *scenarios.Scenario, n int, startAt time.Time) string {
	name := strings.Map(func(r rune) rune {
		if strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", r) {
			return r
		}
		return '-'
	}, sc.Name)
	if len(name) > 40 {
		name = name[:40]
	}
	if !startAt.IsZero() {
		return fmt.Sprintf("%s-%s", name, startAt.UTC().Format("20060102T150405Z"))
	}
	return fmt.Sprintf("%s-n%d", name, n)
}

// CheckShard refuses a shard setup that cannot run, before anything starts:
// one-line errors naming the flag and the fix. now is the wall clock the
// --start-at bounds are checked against.
func CheckShard(sh *Shard, sc *scenarios.Scenario, now time.Time) error {
	if sh == nil {
		return nil
	}
	switch {
	case sh.Count < 1 || sh.Count > MaxShards || sh.Index < 0 || sh.Index >= sh.Count:
		return fmt.Errorf("--shard %d/%d: want 0 <= i < N <= %d", sh.Index, sh.Count, MaxShards)
	case sh.Lead < 0 || sh.Lead >= sh.Count:
		return fmt.Errorf("--lead %d: must name one of the %d shards (0 to %d)", sh.Lead, sh.Count, sh.Count-1)
	case sh.Barrier && !sh.StartAt.IsZero():
		return fmt.Errorf("--barrier and --start-at exclude each other: pick one way to agree the start")
	case sh.Count > 1 && !sh.Barrier && sh.StartAt.IsZero():
		return fmt.Errorf("--shard %d/%d needs a common start: add --barrier (agreed through the store) or --start-at RFC3339", sh.Index, sh.Count)
	case !runIDPattern.MatchString(sh.RunID):
		return fmt.Errorf("--run-id %q: want 1 to 64 letters, digits, '.', '_' or '-'", sh.RunID)
	case sh.Barrier && sh.BarrierTimeout <= 0:
		return fmt.Errorf("--barrier-timeout %v: must be > 0", sh.BarrierTimeout)
	}
	if !sh.StartAt.IsZero() {
		if d := now.Sub(sh.StartAt); d > time.Second {
			return fmt.Errorf("--start-at %s is %v in the past: give an instant after every shard has started", sh.StartAt.Format(time.RFC3339), d.Round(time.Second))
		}
		if d := sh.StartAt.Sub(now); d > 24*time.Hour {
			return fmt.Errorf("--start-at %s is more than 24 h ahead: a typo? give an instant within a day", sh.StartAt.Format(time.RFC3339))
		}
	}
	if n := len(chaos.StoreFaults(sc.Faults)); n > 0 && sh.Count > 1 {
		return fmt.Errorf("scenario %s: its %d store fault(s) need a store evbench manages itself, which the other shards cannot reach; shard a scenario without store faults (--set faults=[])", sc.Name, n)
	}
	return sc.CheckShard(sh.Count)
}

// shardRun is a sharded run's state beside the run.
type shardRun struct {
	cfg   Shard
	whole *scenarios.Scenario // the scenario of all shards together
	keys  int                 // keys this shard owns
	start time.Time           // the agreed t=0
	info  measure.ShardInfo
}

// ledgerShard maps a shard's local key indexes to the scenario's and
// recognises the other shards' event IDs.
type ledgerShard struct {
	index, count int
	prefix       [4]byte // common to the run's shards: the first ID bytes
}

// keyName is the key of local key index k: key i + k*N of the scenario on
// shard i of N, k itself on an unsharded run.
func (l *ledger) keyName(k int) string {
	if l.shard == nil {
		return scenarios.KeyName(k)
	}
	return scenarios.KeyName(l.shard.index + k*l.shard.count)
}

// otherShard reports whether id belongs to another shard of the same run.
func (l *ledger) otherShard(id *[16]byte) bool {
	return l.shard != nil && [4]byte(id[:4]) == l.shard.prefix
}

// countForeign classifies an event that is not this shard's: another
// shard's of the run, a barrier marker, or another run's (foreign only).
func (p *projector) countForeign(d *drivers.Delivered) {
	if p.ledger.shard == nil {
		return
	}
	switch {
	case p.ledger.otherShard(&d.ID):
		p.otherShards.Add(1)
	case strings.HasPrefix(d.Key, barrierKeyPrefix):
		p.markers.Add(1)
	}
}

// applyShard turns the run into its shard's part of the scenario. The
// result keeps the whole scenario (resolved), so the shards of one run
// carry the same one and a merge can check it.
func (r *run) applyShard(res *measure.Result) {
	sh := r.cfg.Shard
	if sh == nil {
		return
	}
	if sh.BarrierTimeout <= 0 {
		sh.BarrierTimeout = DefaultBarrierTimeout
	}
	if sh.BarrierLead <= 0 {
		sh.BarrierLead = DefaultBarrierLead
	}
	r.shard = &shardRun{cfg: *sh, whole: r.sc, keys: scenarios.ShardKeys(r.sc.Events.Keys.Count, sh.Index, sh.Count)}
	r.sc = r.sc.ShardPart(sh.Index, sh.Count, sh.Index == sh.Lead)
	if r.cfg.Seed != 0 { // the same --seed on every shard must not repeat one shard's draws
		r.cfg.Seed += uint64(sh.Index) * 0x9e3779b97f4a7c15
	}
	r.shard.info = measure.ShardInfo{Index: sh.Index, Count: sh.Count, RunID: sh.RunID, Lead: sh.Lead, Keys: r.shard.keys}
	res.Shard = &r.shard.info
}

// agreeStart fixes a sharded run's t=0: --start-at, or the barrier through
// the store. An unsharded run starts when its setup is done (startInstant).
func (r *run) agreeStart(ctx context.Context, control drivers.Driver) error {
	if r.shard == nil {
		return nil
	}
	sh := &r.shard.cfg
	if !sh.Barrier {
		r.shard.start = sh.StartAt
	} else {
		start, b, err := runBarrier(ctx, control, *sh, r.cfg.Logf)
		if err != nil {
			return err
		}
		r.shard.start, r.shard.info.Barrier = start, &b
	}
	r.shard.info.StartAt = r.shard.start.UTC()
	if late := time.Since(r.shard.start); late > 0 {
		return fmt.Errorf("shard %d/%d: the common start %s passed %v before this shard was ready; use a later --start-at",
			sh.Index, sh.Count, r.shard.start.UTC().Format(time.RFC3339Nano), late.Round(time.Millisecond))
	}
	r.cfg.Logf("shard %d/%d (run %s) starts at %s", sh.Index, sh.Count, sh.RunID, r.shard.start.UTC().Format(time.RFC3339Nano))
	return nil
}

// newRunLedger is the run's ledger: random run bytes on an unsharded run;
// on a shard, bytes 0-3 derive from the run ID and the agreed start (common
// to the run's shards, new for each run) and bytes 4-5 are the shard index,
// so IDs differ across shards and ours() tells them apart.
func (r *run) newRunLedger(keys int) *ledger {
	if r.shard == nil {
		return newLedger(randomRunID(), keys)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d", r.shard.cfg.RunID, r.shard.start.UnixNano())))
	id := randomRunID()
	copy(id[:4], sum[:4])
	binary.BigEndian.PutUint16(id[4:6], uint16(r.shard.cfg.Index))
	l := newLedger(id, keys)
	l.shard = &ledgerShard{index: r.shard.cfg.Index, count: r.shard.cfg.Count, prefix: [4]byte(sum[:4])}
	return l
}

// startInstant is the schedule's t=0: the agreed start on a shard, a
// little after now otherwise (so the setup cannot make the first events
// late).
func (r *run) startInstant() time.Time {
	if r.shard != nil {
		return r.shard.start
	}
	return time.Now().Add(startLead)
}

// shardResult records the shard in the result: what its projectors
// ignored of the other shards, and the lead's fault and pause windows,
// which a non-lead shard did not inject but lived through.
func (r *run) shardResult(res *measure.Result) {
	if r.shard == nil {
		return
	}
	for _, p := range r.projs {
		res.Delivery.OtherShards = max(res.Delivery.OtherShards, p.otherShards.Load())
		r.shard.info.MarkersIgnored = max(r.shard.info.MarkersIgnored, p.markers.Load())
	}
	sh := r.shard.cfg
	by := fmt.Sprintf("shard %d", sh.Lead)
	if sh.Index == sh.Lead {
		for i := range res.Faults {
			res.Faults[i].InjectedBy = by
		}
		return
	}
	for _, f := range r.shard.whole.Faults {
		res.Faults = append(res.Faults, measure.FaultWindow{Kind: f.Kind, Path: f.Path, AtS: f.At.D().Seconds(), ForS: f.For.D().Seconds(),
			Params: f.Params, InjectedBy: by})
	}
	for _, p := range r.shard.whole.Consumers.Pause {
		res.Series.Pauses = append(res.Series.Pauses, measure.Window{Label: "consumer pause (" + by + ")",
			StartS: p.At.D().Seconds(), EndS: (p.At.D() + p.For.D()).Seconds()})
	}
}
