package drivers

import (
	"context"
	"errors"
	"time"
)

// ErrConsumerCrash is the cancel cause (context.WithCancelCause) that ends a
// durable subscription as if its process had died: the subscriber makes no
// final commit, so what it delivered since its last commit is replayed on
// the next SubscribeDurable of the group. A plain cancel ends it cleanly,
// with the best-effort final commit. The runner's consumer-restart fault
// uses it, so the replay it reports is the one a real crash causes.
var ErrConsumerCrash = errors.New("consumer crashed")

// Crashed reports whether ctx was cancelled with ErrConsumerCrash.
func Crashed(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrConsumerCrash)
}

// CommitClock decides, per a CommitPolicy, when a durable subscriber
// commits. Drivers cap each batch at Room, call Delivered after it, commit
// when Due, then call Committed. With an Events bound the events delivered
// but not committed are then never more than Events, so a crash replays
// at most Events (the bound drivertest.CheckDurableResume asserts). Not
// safe for concurrent use: one subscription owns it.
type CommitClock struct {
	policy  CommitPolicy
	pending int
	last    time.Time
}

// NewCommitClock starts the clock at now (the subscription's start).
func NewCommitClock(p CommitPolicy, now time.Time) *CommitClock {
	return &CommitClock{policy: p, last: now}
}

// Delivered counts n events handed to deliver and not committed yet.
func (c *CommitClock) Delivered(n int) { c.pending += n }

// Room is how many events the next batch may hold so that the pending
// events do not pass the policy's Events bound (limit, the driver's own
// batch cap, without one).
func (c *CommitClock) Room(limit int) int {
	if c.policy.Events > 0 {
		return max(1, min(limit, c.policy.Events-c.pending))
	}
	return limit
}

// Pending is the number of delivered events not committed yet.
func (c *CommitClock) Pending() int { return c.pending }

// Due reports whether the pending events should be committed now: after
// Events of them, after Interval since the last commit, or (both zero)
// after every batch. Nothing pending is never due.
func (c *CommitClock) Due(now time.Time) bool {
	if c.pending == 0 {
		return false
	}
	p := c.policy
	switch {
	case p.Events <= 0 && p.Interval <= 0:
		return true
	case p.Events > 0 && c.pending >= p.Events:
		return true
	case p.Interval > 0 && now.Sub(c.last) >= p.Interval:
		return true
	}
	return false
}

// Committed records a successful commit of everything pending at now.
func (c *CommitClock) Committed(now time.Time) {
	c.pending = 0
	c.last = now
}

// Tick is how often an idle subscription should look at Due, so an
// Interval commit is not held back until the next event arrives: the
// policy's interval, or fallback when it has none.
func (c *CommitClock) Tick(fallback time.Duration) time.Duration {
	if c.policy.Interval > 0 && c.policy.Interval < fallback {
		return c.policy.Interval
	}
	return fallback
}
