package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.DurableSubscriber = (*Driver)(nil)

// commitTimeout bounds one offset commit, so a broker that stopped
// answering delays the consumer, never hangs it.
const commitTimeout = 5 * time.Second

// SubscribeDurable reads the topic through the consumer group named group,
// as a production projector does: it joins the group, resumes every
// assigned partition at the group's committed offset (a partition the group
// never committed starts at the beginning), and commits the delivered
// records (CommitRecords of the last one per partition; auto-commit is
// off) when the policy says so. A fetch is delivered in batches no larger
// than what keeps the uncommitted events within the policy's Events, so a
// commit falls exactly on it. A
// revoked partition is committed before it moves (OnPartitionsRevoked;
// rebalances wait for a delivered batch, BlockRebalanceOnPoll), and a clean
// stop commits what was delivered, best effort. A stop with
// drivers.ErrConsumerCrash commits nothing more: the client leaves the
// group (so the next member is assigned at once instead of after the session
// timeout) but its uncommitted deliveries are replayed, as after a crash.
//
// Unlike Subscribe with consumer=group (a fresh group per call, starting at
// a cursor), the group is the caller's: another SubscribeDurable with the
// same name resumes it, and two members share its partitions.
func (d *Driver) SubscribeDurable(ctx context.Context, group string, policy drivers.CommitPolicy, deliver func([]drivers.Delivered) error) error {
	if group == "" {
		return errors.New("kafka: durable subscribe: empty consumer group name")
	}
	d.mu.RLock()
	closed := d.cl == nil
	d.mu.RUnlock()
	if closed {
		return errClosed
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.closeCtx, cancel)
	defer stop()

	var noFinalCommit atomic.Bool // set on a crash: no commit on the way out
	var delivered deliveredRecords
	commitNow := func(ctx context.Context, cl *kgo.Client) error {
		recs := delivered.take()
		if len(recs) == 0 {
			return nil
		}
		cctx, ccancel := context.WithTimeout(ctx, commitTimeout)
		defer ccancel()
		if err := cl.CommitRecords(cctx, recs...); err != nil {
			delivered.giveBack(recs)
			return err
		}
		return nil
	}
	cl, err := d.newClient(
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(d.cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			if noFinalCommit.Load() {
				return
			}
			if err := commitNow(ctx, cl); err != nil {
				d.opts.Log("kafka: group %s: commit on revoke: %v", group, err)
			}
		}),
	)
	if err != nil {
		return err
	}
	clock := drivers.NewCommitClock(policy, time.Now())
	defer func() {
		crashed := drivers.Crashed(ctx)
		noFinalCommit.Store(crashed)
		if !crashed && clock.Pending() > 0 {
			if err := commitNow(context.Background(), cl); err != nil {
				d.opts.Log("kafka: group %s: final commit: %v", group, err)
			}
		}
		cl.AllowRebalance()
		cl.Close() // leaves the group; the revoke callback sees noFinalCommit
	}()
	commit := func() {
		if err := commitNow(sctx, cl); err != nil {
			if sctx.Err() == nil {
				d.opts.Log("kafka: group %s: commit: %v (retried at the next due commit)", group, err)
			}
			return
		}
		clock.Committed(time.Now())
	}

	poll := clock.Tick(pollWindow)
	var idleSince, unreachableSince time.Time
	for {
		pctx, pcancel := context.WithTimeout(sctx, poll)
		fs := cl.PollFetches(pctx)
		pcancel()
		if sctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return errClosed
		}
		if fs.IsClientClosed() {
			return errClosed
		}
		if err := fetchError(fs, "kafka: group "+group+": fetch"); err != nil {
			return err
		}
		if fs.NumRecords() == 0 {
			cl.AllowRebalance()
			if clock.Due(time.Now()) {
				commit()
			}
			if idleSince.IsZero() {
				idleSince = time.Now()
			}
			if time.Since(idleSince) < pollWindow {
				continue
			}
			idleSince = time.Time{}
			// Idle for a while: check that some broker still answers, as
			// Subscribe does ("lost for good" is ours to decide).
			if err := pingOnce(sctx, cl); err != nil && sctx.Err() == nil {
				if unreachableSince.IsZero() {
					unreachableSince = time.Now()
				} else if time.Since(unreachableSince) > lostAfter {
					return fmt.Errorf("kafka: brokers %s unreachable for %s: %w", strings.Join(d.cfg.Brokers, ","), lostAfter, err)
				}
			} else {
				unreachableSince = time.Time{}
			}
			continue
		}
		idleSince, unreachableSince = time.Time{}, time.Time{}
		recs := fs.Records()
		for len(recs) > 0 {
			n := min(len(recs), clock.Room(len(recs)))
			out := make([]drivers.Delivered, 0, n) // deliver may keep the slice
			for _, r := range recs[:n] {
				ev, err := fromRecord(r)
				if err != nil {
					return err
				}
				out = append(out, ev)
			}
			if err := deliver(out); err != nil {
				return err
			}
			delivered.add(recs[:n])
			recs = recs[n:]
			clock.Delivered(n)
			if ctx.Err() != nil {
				return nil // stopped during deliver: the deferred commit decides
			}
			if clock.Due(time.Now()) {
				commit()
			}
		}
		cl.AllowRebalance()
	}
}

// deliveredRecords are, per partition, the last record delivered and not
// committed yet: what a commit commits. The revoke callback reads it from
// the client's goroutine, hence the lock.
type deliveredRecords struct {
	mu   sync.Mutex
	last map[int32]*kgo.Record
}

func (d *deliveredRecords) add(recs []*kgo.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[int32]*kgo.Record{}
	}
	for _, r := range recs {
		if at, ok := d.last[r.Partition]; !ok || r.Offset > at.Offset {
			d.last[r.Partition] = r
		}
	}
}

// take returns the records to commit and forgets them.
func (d *deliveredRecords) take() []*kgo.Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*kgo.Record, 0, len(d.last))
	for _, r := range d.last {
		out = append(out, r)
	}
	clear(d.last)
	return out
}

// giveBack restores records whose commit failed, unless later ones of
// their partition were delivered meanwhile.
func (d *deliveredRecords) giveBack(recs []*kgo.Record) { d.add(recs) }
