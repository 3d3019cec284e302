package runner

import "time"

// runClock measures within one process on the monotonic clock. Events
// carry their scheduled time as wall-clock nanoseconds (CreatedAt, the only
// form a store can round-trip); the run's start pairs a wall reading with
// a monotonic one, so "scheduled at" becomes an offset from the start and
// "now" is time.Since(start): a wall-clock step (NTP, a VM resumed) during
// the run moves neither.
type runClock struct {
	start     time.Time // carries the monotonic reading
	startWall int64     // start.UnixNano()
}

func newRunClock(start time.Time) runClock {
	return runClock{start: start, startWall: start.UnixNano()}
}

// since is now's offset from the start, monotonic.
func (c runClock) since(now time.Time) time.Duration { return now.Sub(c.start) }

// offset is a scheduled wall time's offset from the start. The generator
// derives CreatedAt from start.Add(at), so this is exact, not a reading.
func (c runClock) offset(createdAt int64) time.Duration {
	return time.Duration(createdAt - c.startWall)
}
