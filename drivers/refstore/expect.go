package refstore

import (
	"context"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/engine"
)

// ExpectedVersion is the optimistic-concurrency condition of AppendExpect:
// ExpectAny, ExpectNoStream, or ExpectVersion(n) for "the stream's last
// version is n" (stream versions are 0-based).
type ExpectedVersion int64

// Expected-version conditions (the same values the engine and the wire use).
const (
	ExpectAny      ExpectedVersion = ExpectedVersion(engine.ExpectAny)
	ExpectNoStream ExpectedVersion = ExpectedVersion(engine.ExpectNoStream)
)

// ExpectVersion is the condition "the stream's last version is v".
func ExpectVersion(v uint64) ExpectedVersion { return ExpectedVersion(v) }

func (e ExpectedVersion) String() string {
	switch {
	case e == ExpectAny:
		return "any"
	case e == ExpectNoStream:
		return "no stream"
	case e >= 0:
		return fmt.Sprintf("version %d", int64(e))
	}
	return fmt.Sprintf("ExpectedVersion(%d)", int64(e))
}

// ConflictError is an append refused because the stream was not at the
// expected version; nothing of the batch was written. Get it with
// errors.As; errors.Is(err, engine.ErrConflict) also holds.
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
	// Actual is the stream's last version when the server checked, -1 when
	// the stream had no events.
	Actual int64
}

func (e *ConflictError) Error() string {
	got := "no stream"
	if e.Actual >= 0 {
		got = fmt.Sprint(e.Actual)
	}
	return fmt.Sprintf("refstore: append stream %q: expected %v, got %s", e.Stream, e.Expected, got)
}

// Is makes errors.Is(err, engine.ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == engine.ErrConflict }

// AppendExpect appends batch to stream atomically if the stream is at the
// expected version, and waits for the durable acknowledgement. Every event's
// Key must be stream or empty (empty keys are set to stream). A failed
// check returns a *ConflictError and writes nothing. A retried batch whose
// event IDs are all stored already returns the original positions without
// checking the version again (idempotent append).
func (d *Driver) AppendExpect(ctx context.Context, stream string, expected ExpectedVersion, batch []drivers.Event) ([]drivers.Position, error) {
	if expected < ExpectAny {
		return nil, fmt.Errorf("refstore: append stream %q: expected version %d: use ExpectAny, ExpectNoStream or ExpectVersion(n)", stream, int64(expected))
	}
	evs := make([]drivers.Event, len(batch))
	for i, e := range batch {
		if e.Key != "" && e.Key != stream {
			return nil, fmt.Errorf("refstore: append stream %q: event %d has key %q: every event must be in the stream (or leave Key empty)", stream, i, e.Key)
		}
		e.Key = stream
		evs[i] = e
	}
	type res struct {
		pos []drivers.Position
		err error
	}
	ch := make(chan res, 1)
	d.appendExpect(ctx, stream, expected, evs, true, func(p []drivers.Position, err error) { ch <- res{p, err} })
	r := <-ch
	return r.pos, r.err
}
