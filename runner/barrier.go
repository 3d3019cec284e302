package runner

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
)

// The start barrier, through the store itself (no coordinator): each shard
// reads the head, subscribes from it, and appends a marker carrying its
// index and the instant of its first announcement (on its own clock). When
// it reads a shard's marker for the first time it announces again (same
// first instant), so a shard that subscribed after another's first marker
// still gets one: of any two shards, the later to subscribe announces after
// the earlier subscribed, and the earlier, still waiting, answers. Once a
// shard has seen all N, the common start is the latest first announcement
// + the lead. Every shard computes it from the same N numbers, so the start
// instants agree exactly on one clock; across hosts they differ by the
// hosts' clock offset. The lead must exceed the store's delivery latency
// for the last marker and its answers, else the start has passed when a
// shard learns it and that shard refuses to run (agreeStart).
//
// Markers live under keys of their own (barrierKeyPrefix + run ID + shard +
// first instant: one writer per key, new for each run, so stores with a
// unique (key, sequence) index accept them) and carry IDs no run's events
// have, so the projectors skip them (counted as shard.markers_ignored).

// barrierKeyPrefix starts every marker's key.
const barrierKeyPrefix = "evbench-barrier-"

// barrierType is the markers' event type.
const barrierType = "evbench.barrier"

// barrierMarker is a marker's payload.
type barrierMarker struct {
	RunID string `json:"run_id"`
	Shard int    `json:"shard"`
	Count int    `json:"count"`
	// First is the instant of the shard's first announcement (unix ns, its
	// clock): the same in every re-announcement.
	First int64 `json:"first_unix_ns"`
	// Sent is when this marker was appended (unix ns, its clock).
	Sent int64 `json:"sent_unix_ns"`
}

// runBarrier waits until every shard of sh's run has announced itself and
// returns the common start.
func runBarrier(ctx context.Context, drv drivers.Driver, sh Shard, logf func(string, ...any)) (time.Time, measure.ShardBarrier, error) {
	info := measure.ShardBarrier{LeadS: sh.BarrierLead.Seconds()}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, sh.BarrierTimeout)
	defer cancel()
	head, err := drv.Head(ctx)
	if err != nil {
		return time.Time{}, info, fmt.Errorf("barrier: read head: %w", err)
	}
	runKeys := barrierKeyPrefix + sh.RunID + "-"
	got := make(chan drivers.Delivered, 64)
	subErr := make(chan error, 1)
	go func() {
		subErr <- drv.Subscribe(ctx, head, func(batch []drivers.Delivered) error {
			for _, d := range batch {
				if d.Type != barrierType || !strings.HasPrefix(d.Key, runKeys) {
					continue // the load of earlier runs, other runs' markers
				}
				select {
				case got <- d:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}()

	first := time.Now()
	key := runKeys + strconv.Itoa(sh.Index) + "-" + strconv.FormatInt(first.UnixNano(), 10)
	prefix := sha256.Sum256([]byte(sh.RunID))
	var seq uint64
	announce := func() error {
		seq++
		now := time.Now()
		payload, _ := json.Marshal(barrierMarker{RunID: sh.RunID, Shard: sh.Index, Count: sh.Count, First: first.UnixNano(), Sent: now.UnixNano()})
		var id [16]byte
		copy(id[:4], prefix[:4])
		binary.BigEndian.PutUint16(id[4:6], 0xffff) // no shard's index: never any run's event ID
		binary.BigEndian.PutUint16(id[6:8], uint16(sh.Index))
		binary.BigEndian.PutUint64(id[8:], uint64(first.UnixNano())+seq)
		ev := drivers.Event{ID: id, Key: key, Seq: seq, Type: barrierType, Payload: payload, CreatedAt: now.UnixNano()}
		if _, err := drv.Append(ctx, []drivers.Event{ev}); err != nil {
			return fmt.Errorf("barrier: append marker: %w", err)
		}
		return nil
	}
	if err := announce(); err != nil {
		return time.Time{}, info, err
	}
	seen := map[int]barrierMarker{}
	peers := map[int]measure.ShardPeer{}
	for len(seen) < sh.Count {
		select {
		case d := <-got:
			var m barrierMarker
			if err := json.Unmarshal(d.Payload, &m); err != nil || m.RunID != sh.RunID {
				continue
			}
			info.Markers++
			if m.Count != sh.Count {
				return time.Time{}, info, fmt.Errorf("barrier: shard %d of run %s runs as one of %d shards, this one of %d: give every shard the same --shard N", m.Shard, sh.RunID, m.Count, sh.Count)
			}
			if m.Shard != sh.Index { // the fastest delivery of a peer's markers bounds the clock offset best (NTP's rule)
				got := measure.ShardPeer{Shard: m.Shard, SentAt: time.Unix(0, m.Sent).UTC(), ReceivedAt: time.Now().UTC()}
				if p, ok := peers[m.Shard]; !ok || got.ReceivedAt.Sub(got.SentAt) < p.ReceivedAt.Sub(p.SentAt) {
					peers[m.Shard] = got
				}
			}
			if _, ok := seen[m.Shard]; ok {
				continue
			}
			seen[m.Shard] = m
			if m.Shard == sh.Index {
				continue
			}
			if err := announce(); err != nil {
				return time.Time{}, info, err
			}
		case err := <-subErr:
			if ctx.Err() == nil {
				return time.Time{}, info, fmt.Errorf("barrier: subscription ended: %v", err)
			}
			return time.Time{}, info, barrierTimeout(withParent(sh, parent), len(seen))
		case <-ctx.Done():
			return time.Time{}, info, barrierTimeout(withParent(sh, parent), len(seen))
		}
	}
	info.WaitedS = round3(time.Since(first).Seconds())
	for _, p := range peers {
		info.Peers = append(info.Peers, p)
	}
	sort.Slice(info.Peers, func(i, j int) bool { return info.Peers[i].Shard < info.Peers[j].Shard })
	var latest int64
	for _, m := range seen {
		latest = max(latest, m.First)
	}
	logf("barrier: saw all %d shards of run %s after %.3fs (%d markers)", sh.Count, sh.RunID, info.WaitedS, info.Markers)
	return time.Unix(0, latest).Add(sh.BarrierLead), info, nil
}

func barrierTimeout(sh Shard, seen int) error {
	if sh.interrupted != nil && sh.interrupted() {
		return fmt.Errorf("%w: interrupted in the barrier (saw %d of %d shards)", ErrIncomplete, seen, sh.Count)
	}
	return fmt.Errorf("barrier: saw %d of %d shards of run %s within --barrier-timeout %v: start the missing shards (same --run-id and N) or raise the timeout",
		seen, sh.Count, sh.RunID, sh.BarrierTimeout)
}

// withParent lets barrierTimeout tell an interruption from a timeout.
func withParent(sh Shard, parent context.Context) Shard {
	sh.interrupted = func() bool { return parent.Err() != nil }
	return sh
}
