package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/evbench/evbench/drivers"
)

// Subscribe reads the topic from the cursor on with its own client, so a
// slow projector never delays produce requests.
//
// consumer=direct (default) assigns every partition directly at the cursor's
// offset (partitions absent from the cursor start at 0). consumer=group reads
// through a consumer group (join, heartbeats, offset commits every 5 s) to
// measure that protocol's cost: the group id is "<group>-<random>", one per
// Subscribe, and every partition starts at the cursor (0 when absent) on its
// first assignment. The Driver contract (nil cursor = from the beginning;
// several projectors and a rebuild each read everything) rules out sharing
// one group or resuming from its commits: a shared group would split the
// partitions between them. SubscribeDurable (durable.go) is the consumer
// that resumes from its group's commits.
//
// It returns nil when ctx ends, the deliver error when deliver fails, and an
// error when the driver is closed, a fetch fails with a non-retriable error,
// or no broker has answered for 2 minutes (lost for good).
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	d.mu.RLock()
	closed, parts := d.cl == nil, d.partitions
	d.mu.RUnlock()
	if closed {
		return errClosed
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.closeCtx, cancel)
	defer stop()

	opts := []kgo.Opt{
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	group := d.cfg.Consumer == "group"
	if group {
		opts = append(opts, kgo.ConsumerGroup(d.cfg.Group+"-"+randomSuffix()), kgo.ConsumeTopics(d.cfg.Topic),
			kgo.AutoCommitMarks(), kgo.AdjustFetchOffsetsFn(cursorSeeker(d.cfg.Topic, from)))
	} else {
		offs := make(map[int32]kgo.Offset, parts)
		for p := int32(0); p < parts; p++ {
			offs[p] = kgo.NewOffset().At(from[p])
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{d.cfg.Topic: offs}))
	}
	cl, err := d.newClient(opts...)
	if err != nil {
		return err
	}
	defer func() {
		if group {
			cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = cl.CommitMarkedOffsets(cctx)
			ccancel()
		}
		cl.Close()
	}()

	var unreachableSince time.Time
	for {
		pctx, pcancel := context.WithTimeout(sctx, pollWindow)
		fs := cl.PollFetches(pctx)
		idle := fs.NumRecords() == 0 && pctx.Err() != nil && sctx.Err() == nil
		pcancel()
		if idle {
			// Nothing arrived for a while: check that some broker still
			// answers; Kafka clients retry forever, so "lost for good" is ours
			// to decide.
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
		unreachableSince = time.Time{}
		if sctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return errClosed
		}
		if fs.IsClientClosed() {
			return errClosed
		}
		if err := fetchError(fs, "kafka: fetch"); err != nil {
			return err
		}
		n := fs.NumRecords()
		if n == 0 {
			continue
		}
		out := make([]drivers.Delivered, 0, n)
		var decErr error
		var last []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if decErr != nil {
				return
			}
			ev, err := fromRecord(r)
			if err != nil {
				decErr = err
				return
			}
			out = append(out, ev)
			if group {
				last = append(last, r)
			}
		})
		if decErr != nil {
			return decErr
		}
		if err := deliver(out); err != nil {
			return err
		}
		if group {
			cl.MarkCommitRecords(last...)
		}
	}
}

// pollWindow is how long Subscribe waits for records before checking that
// a broker still answers; lostAfter is how long no broker may answer before
// Subscribe gives up (longer than any chaos fault a scenario runs).
// Variables so tests can shorten them.
var (
	pollWindow = 5 * time.Second
	lostAfter  = 2 * time.Minute
)

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func pingOnce(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// cursorSeeker moves each partition to the cursor's offset (0 when absent)
// on its first assignment, leaving later (rebalance) assignments at the
// group's committed offsets.
func cursorSeeker(topic string, from drivers.Cursor) func(context.Context, map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	var mu sync.Mutex
	seeked := map[int32]bool{}
	return func(_ context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
		mu.Lock()
		defer mu.Unlock()
		for p := range offs[topic] {
			if !seeked[p] {
				offs[topic][p] = kgo.NewOffset().At(from[p]).WithEpoch(-1)
			}
			seeked[p] = true
		}
		return offs, nil
	}
}

// fetchError is the first terminal error of a poll, named what/topic/partition;
// nil when there is none. The poll's own deadline and cancellation are not
// errors, and retryable errors are retried inside the client and never
// surface, so what is left is terminal.
func fetchError(fs kgo.Fetches, what string) error {
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		return fmt.Errorf("%s %s/%d: %w", what, fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}
