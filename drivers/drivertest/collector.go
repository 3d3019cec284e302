package drivertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// waitLimit bounds every wait in the suite: a broken driver fails with what
// was missing instead of hanging the test binary.
const waitLimit = 10 * time.Second

// settle is how long the suite keeps listening after the expected events
// arrived, to catch late duplicates.
const settle = 150 * time.Millisecond

// collector runs one Subscribe in the background and keeps copies of
// everything delivered.
type collector struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	got []drivers.Delivered
	err error // Subscribe's return value, once done
}

// subscribe starts d.Subscribe(from) and stops it in t.Cleanup.
func subscribe(t *testing.T, d drivers.Driver, from drivers.Cursor) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		err := d.Subscribe(ctx, from, func(batch []drivers.Delivered) error {
			c.mu.Lock()
			for _, ev := range batch {
				ev.Payload = append([]byte(nil), ev.Payload...)
				c.got = append(c.got, ev)
			}
			c.mu.Unlock()
			return nil
		})
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels the subscription and waits (bounded) for it to return.
func (c *collector) stop(t *testing.T) {
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(waitLimit):
		t.Errorf("Subscribe did not return within %s of cancel", waitLimit)
	}
}

// snapshot returns a copy of what has been delivered so far.
func (c *collector) snapshot() []drivers.Delivered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]drivers.Delivered(nil), c.got...)
}

// waitIDs waits until every id in want was delivered at least once, then
// settles briefly and returns the deliveries. It fails the test with the
// missing count when the wait limit passes or Subscribe ends early.
func (c *collector) waitIDs(t *testing.T, want map[[16]byte]bool) []drivers.Delivered {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := c.snapshot()
		missing := missingIDs(want, got)
		if len(missing) == 0 {
			time.Sleep(settle)
			return c.snapshot()
		}
		select {
		case <-c.done:
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			t.Fatalf("Subscribe returned early (err=%v) with %d of %d events missing, e.g. %s",
				err, len(missing), len(want), sampleIDs(missing))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d acknowledged events not delivered (got %d deliveries), e.g. %s",
				waitLimit, len(missing), len(want), len(got), sampleIDs(missing))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func missingIDs(want map[[16]byte]bool, got []drivers.Delivered) [][16]byte {
	seen := make(map[[16]byte]bool, len(got))
	for _, d := range got {
		seen[d.ID] = true
	}
	var out [][16]byte
	for id := range want {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func sampleIDs(ids [][16]byte) string {
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	var b strings.Builder
	for i, id := range ids {
		if i == 3 {
			fmt.Fprintf(&b, " ...")
			break
		}
		fmt.Fprintf(&b, " %x", id)
	}
	return strings.TrimSpace(b.String())
}

// idSet returns the IDs of evs as a set.
func idSet(evs []drivers.Event) map[[16]byte]bool {
	m := make(map[[16]byte]bool, len(evs))
	for _, e := range evs {
		m[e.ID] = true
	}
	return m
}

// checkExactlyOnce reports duplicates and events that were never appended.
func checkExactlyOnce(t *testing.T, want map[[16]byte]bool, got []drivers.Delivered) {
	t.Helper()
	count := make(map[[16]byte]int, len(got))
	for _, d := range got {
		count[d.ID]++
	}
	var dups, unexpected int
	for id, n := range count {
		if !want[id] {
			unexpected++
		} else if n > 1 {
			dups++
		}
	}
	if dups > 0 || unexpected > 0 || len(got) != len(want) {
		t.Errorf("delivery: %d deliveries for %d appended events: %d IDs duplicated, %d unexpected IDs",
			len(got), len(want), dups, unexpected)
	}
}

// checkKeyOrder reports any key whose Seq did not increase in delivery order.
func checkKeyOrder(t *testing.T, got []drivers.Delivered) {
	t.Helper()
	last := map[string]uint64{}
	bad := 0
	for _, d := range got {
		if d.Seq <= last[d.Key] {
			if bad < 3 {
				t.Errorf("per-key order: key %q delivered seq %d after seq %d", d.Key, d.Seq, last[d.Key])
			}
			bad++
			continue
		}
		last[d.Key] = d.Seq
	}
	if bad > 3 {
		t.Errorf("per-key order: %d out-of-order deliveries in total", bad)
	}
}

// checkPartitionOrder reports positions that did not increase per partition
// in delivery order.
func checkPartitionOrder(t *testing.T, got []drivers.Delivered) {
	t.Helper()
	last := map[int32]int64{}
	seen := map[int32]bool{}
	for _, d := range got {
		p := d.Position
		if seen[p.Partition] && p.Offset <= last[p.Partition] {
			t.Errorf("delivery order: partition %d offset %d delivered after offset %d", p.Partition, p.Offset, last[p.Partition])
			return
		}
		seen[p.Partition] = true
		last[p.Partition] = p.Offset
	}
}
