package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// written is a group the committer wrote and the syncer must make durable
// before acknowledging it.
type written struct {
	seg  *segment
	reqs []*request
	end  int64  // segment bytes through this group; -1 when it wrote nothing
	next uint64 // the head once it is durable
}

// pending counts written groups not yet acknowledged, so a segment roll can
// wait for all of them.
type pending struct {
	n  atomic.Int64
	wg sync.WaitGroup
}

func (p *pending) Add(n int)   { p.n.Add(int64(n)); p.wg.Add(n) }
func (p *pending) Done()       { p.n.Add(-1); p.wg.Done() }
func (p *pending) Load() int64 { return p.n.Load() }
func (p *pending) Wait()       { p.wg.Wait() }

// syncLoop is the second stage of the commit pipeline (sync=always): it takes
// every group written so far, runs one fdatasync for all of them and
// acknowledges them. Every group it takes was completely written before it
// was queued, so the fdatasync that covers it started after its write. While
// it syncs, the committer goes on writing the next groups, which the next
// fdatasync covers: the disk is never idle while appends wait, and a group
// never waits for a sync that started before it arrived plus a whole second
// one (the alternation of small and large groups of a serial committer).
func (l *Log) syncLoop(done chan struct{}) {
	defer close(done)
	var batch []*written
	target := 0                        // requests worth gathering before the next sync
	syncEWMA := 500 * time.Microsecond // smoothed fdatasync time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		w, ok := <-l.toSync
		if !ok {
			return
		}
		batch = append(batch[:0], w)
		n := len(w.reqs)
		closed := false
	more:
		for {
			select {
			case w, ok := <-l.toSync:
				if !ok {
					closed = true
					break more
				}
				batch = append(batch, w)
				n += len(w.reqs)
			default:
				break more
			}
		}
		if n < target && target >= minGather && !closed && l.opts.MaxGatherDelay > 0 {
			// The writers acknowledged by the last sync are likely on their
			// way back: give them a fraction of a sync to join this one, so
			// that closed-loop writers do not split into two cohorts that
			// take turns (each writer then waits two syncs per append).
			timer.Reset(min(syncEWMA/2, l.opts.MaxGatherDelay))
		gather:
			for n < target {
				select {
				case w, ok := <-l.toSync:
					if !ok {
						closed = true
						break gather
					}
					batch = append(batch, w)
					n += len(w.reqs)
				case <-timer.C:
					break gather
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		l.queued.Add(int64(-n))
		err := l.failure()
		var last *written
		for _, w := range batch {
			if w.end >= 0 {
				last = w
			}
		}
		if err == nil && last != nil {
			if l.opts.syncHook != nil {
				l.opts.syncHook()
			}
			t0 := time.Now()
			serr := datasync(last.seg.f)
			took := time.Since(t0)
			syncEWMA += (took - syncEWMA) / 8
			l.stats.syncs.Add(1)
			l.stats.syncNanos.Add(uint64(took))
			if serr != nil {
				err = l.fail(fmt.Errorf("refstore: fdatasync segment %s: %w; the store is read-only until restart", last.seg.path, serr))
			} else {
				l.publish(last.seg, last.end, last.next)
			}
		}
		// Those acknowledged now may come back, and those queued during
		// the sync are already here: the next sync should hold both.
		target = n + int(l.queued.Load())
		for i, w := range batch {
			ackAll(w.reqs, err)
			batch[i] = nil
			l.inflight.Done()
		}
		if closed {
			return
		}
	}
}

// minGather is the fewest returning requests worth delaying a sync for: an
// open-loop load of a few appends per sync gains nothing from waiting, many
// closed-loop writers gain a whole sync per append.
const minGather = 8

// zeroChunk is how far ahead of the write offset the committer zero-fills a
// segment. fallocate leaves unwritten extents, and the first write into one
// makes the next fdatasync also commit the extent conversion to the journal
// (measured here: 4 KiB O_DSYNC into fallocated space 630 µs p50, into
// zero-written space 300 µs). Writing zeros ahead converts the extents in
// bulk, once per chunk, instead of once per commit.
const zeroChunk = 256 << 10

var zeros = make([]byte, zeroChunk)

// zeroAhead keeps at least zeroChunk zero-written bytes after the write
// offset of the current segment (sync=always and interval only). Zeros are
// what a preallocated segment reads as anyway, so neither readers nor
// recovery can tell; a failure only loses the speed-up.
func (l *Log) zeroAhead() {
	if l.opts.Sync == SyncNone {
		return
	}
	seg := l.current()
	if seg.zeroedTo < seg.writeOff {
		seg.zeroedTo = seg.writeOff
	}
	limit := l.opts.SegmentSize
	if seg.zeroedTo-seg.writeOff >= zeroChunk/2 || seg.zeroedTo >= limit {
		return
	}
	n := min(int64(zeroChunk), limit-seg.zeroedTo)
	if _, err := seg.f.WriteAt(zeros[:n], seg.zeroedTo); err != nil {
		return
	}
	seg.zeroedTo += n
}

// Stats are cumulative commit counters, for benchmarks and diagnostics.
type Stats struct {
	Writes   uint64 // group writes (pwrite calls)
	Syncs    uint64 // commit fdatasyncs
	SyncTime time.Duration
	Records  uint64 // records written
}

type statCounters struct {
	writes, syncs, syncNanos, records atomic.Uint64
}

// Stats returns the counters since Open.
func (l *Log) Stats() Stats {
	return Stats{Writes: l.stats.writes.Load(), Syncs: l.stats.syncs.Load(),
		SyncTime: time.Duration(l.stats.syncNanos.Load()), Records: l.stats.records.Load()}
}
