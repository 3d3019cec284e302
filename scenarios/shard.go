package scenarios

import (
	"fmt"
	"slices"
)

// ShardKeys is how many of count keys shard i of n owns: the key indexes
// k < count with k % n == i. Shard i's local key j is global key i + j*n.
func ShardKeys(count, i, n int) int {
	if i >= count {
		return 0
	}
	return (count - i + n - 1) / n
}

// ShardEvents is shard i's part of a load.events count of total, split so
// the n parts sum to total exactly (the first total % n shards take one more).
func ShardEvents(total int64, i, n int) int64 {
	part := total / int64(n)
	if int64(i) < total%int64(n) {
		part++
	}
	return part
}

// CheckShard refuses a scenario that cannot be split into n shards: every
// shard needs at least one key and, with load.events, at least one event.
func (s *Scenario) CheckShard(n int) error {
	if n <= 1 {
		return nil
	}
	if s.Events.Keys.Count < n {
		return fmt.Errorf("scenario %s: events.keys.count %d is less than the %d shards: each shard owns its own keys; use at least %d keys (--set events.keys.count=%d) or fewer shards",
			s.Name, s.Events.Keys.Count, n, n, n)
	}
	if s.Load.Events > 0 && s.Load.Events < int64(n) {
		return fmt.Errorf("scenario %s: load.events %d is less than the %d shards: use at least %d events or fewer shards", s.Name, s.Load.Events, n, n)
	}
	return nil
}

// ShardPart is shard i's part of n of the scenario: every rate (load.start,
// each stage's to) divided by n, load.events split exactly, and the key
// space reduced to the shard's own keys (the key distribution applies to
// them, in the order of their global indexes). lead says whether this shard
// injects the faults, consumer pauses and the rebuild; the others get none
// of them (their results record the lead's windows instead). The copy
// shares nothing the runner mutates with s.
func (s *Scenario) ShardPart(i, n int, lead bool) *Scenario {
	c := *s
	c.Load.Stages = slices.Clone(s.Load.Stages)
	c.ScaleRate(1 / float64(n))
	if s.Load.Events > 0 {
		c.Load.Events = ShardEvents(s.Load.Events, i, n)
	}
	c.Events.Keys.Count = ShardKeys(s.Events.Keys.Count, i, n)
	if !lead {
		c.Faults = nil
		c.Consumers.Pause = nil
		if c.Consumers.Rebuild == "end" {
			c.Consumers.Rebuild = "none"
		}
	}
	return &c
}
