package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.ExpectedAppender = (*Driver)(nil)

// streamVersions is the number of events per stream, brought up to date
// lazily: Append does not maintain it (the harness's ceiling must not pay
// for a map update per event), so AppendExpected and StreamVersion first
// count the events stored since their last call. Every access holds the
// store's mutex, the same one appends take, so the check and the append
// are one atomic step.
type streamVersions struct {
	counted int64             // events already counted
	n       map[uint32]uint64 // interned key -> events of that stream
}

// catchUpLocked counts the events appended since the last call; s.mu is held.
func (s *store) catchUpLocked() {
	v := &s.versions
	if v.n == nil {
		v.n = map[uint32]uint64{}
	}
	for ; v.counted < s.n; v.counted++ {
		v.n[s.at(v.counted).key]++
	}
}

// versionLocked is stream's current version; s.mu is held.
func (s *store) versionLocked(stream string) uint64 {
	s.catchUpLocked()
	i, ok := s.strIndex[stream]
	if !ok {
		return 0 // never stored: no event names it
	}
	return s.versions.n[i]
}

// errSimulatedExpected refuses expected-version appends on a simulated
// store, whose appends complete later on its own server goroutine.
var errSimulatedExpected = errors.New("memory: expected-version appends are not simulated; use memory:// without capacity=")

// AppendExpected appends batch if stream is at version expected, under the
// store's lock (so racing writers see one winner), deduplicating retried
// IDs as Append does.
func (d *Driver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.isClosed() {
		return nil, errClosed
	}
	if d.s.sim != nil {
		return nil, fmt.Errorf("%w: %w", errSimulatedExpected, drivers.ErrUnsupported)
	}
	for i := range batch {
		if batch[i].Key != stream {
			return nil, fmt.Errorf("memory: append stream %q: event %d has key %q: every event must be in the stream", stream, i, batch[i].Key)
		}
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.versionLocked(stream); cur != expected {
		return nil, &drivers.ConflictError{Stream: stream, Expected: expected, Actual: cur, ActualKnown: true}
	}
	pos := s.appendLocked(batch)
	s.wakeLocked()
	return pos, nil
}

// StreamVersion is the number of events stored in stream.
func (d *Driver) StreamVersion(ctx context.Context, stream string) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if d.isClosed() {
		return 0, errClosed
	}
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return d.s.versionLocked(stream), nil
}
