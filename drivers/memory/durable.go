package memory

import (
	"context"
	"time"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.DurableSubscriber = (*Driver)(nil)

// SubscribeDurable delivers from the group's committed offset (0 for a new
// group), as Subscribe does from a cursor, and commits the offset after
// each batch the policy says is due. The committed offsets live in the
// store, so every connection with the same DSN shares them, as a consumer
// group's offsets live in Kafka. A plain cancel commits what was delivered;
// a cancel with drivers.ErrConsumerCrash commits nothing more, so the next
// session replays what this one delivered since its last commit.
func (d *Driver) SubscribeDurable(ctx context.Context, group string, policy drivers.CommitPolicy, deliver func([]drivers.Delivered) error) error {
	if d.isClosed() {
		return errClosed
	}
	s := d.s
	s.mu.Lock()
	next := s.groups[group]
	s.mu.Unlock()
	clock := drivers.NewCommitClock(policy, time.Now())
	commit := func() {
		s.mu.Lock()
		if s.groups == nil {
			s.groups = map[string]int64{}
		}
		s.groups[group] = next
		s.mu.Unlock()
		clock.Committed(time.Now())
	}
	defer func() {
		if !drivers.Crashed(ctx) && clock.Pending() > 0 {
			commit() // best effort on a clean stop: always succeeds here
		}
	}()
	const maxBatch = 1024
	tick := clock.Tick(time.Second)
	for {
		if d.isClosed() {
			return errClosed
		}
		s.mu.Lock()
		end := min(s.n, next+int64(clock.Room(maxBatch)))
		buf := make([]drivers.Delivered, 0, end-next) // deliver may keep the slice
		for off := next; off < end; off++ {
			buf = append(buf, drivers.Delivered{Event: s.event(off), Position: drivers.Position{Offset: off}})
		}
		var wake chan struct{}
		if len(buf) == 0 {
			s.armed = true
			wake = s.wake
		}
		s.mu.Unlock()
		if len(buf) > 0 {
			if err := deliver(buf); err != nil {
				return err
			}
			next = end
			clock.Delivered(len(buf))
			if ctx.Err() != nil {
				return nil // stopped during deliver: the deferred commit decides
			}
			if clock.Due(time.Now()) {
				commit()
			}
			continue
		}
		timer := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
		if clock.Due(time.Now()) {
			commit()
		}
	}
}
