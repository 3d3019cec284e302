package refstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.ExpectedAppender = (*Driver)(nil)

// AppendExpected is AppendExpect in the harness's version numbering: a
// stream's version is its number of events, while refstore names the
// 0-based version of the stream's last event. So expected 0 is
// ExpectNoStream and expected n is ExpectVersion(n-1); the server checks it
// in its committer, atomically with the append. A refused append is a
// *drivers.ConflictError carrying the version the server saw.
func (d *Driver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	pos, err := d.AppendExpect(ctx, stream, toExpectedVersion(expected), batch)
	var ce *ConflictError
	if errors.As(err, &ce) {
		return nil, &drivers.ConflictError{Stream: stream, Expected: expected, Actual: uint64(ce.Actual + 1), ActualKnown: true}
	}
	return pos, err
}

func toExpectedVersion(expected uint64) ExpectedVersion {
	if expected == 0 {
		return ExpectNoStream
	}
	return ExpectVersion(expected - 1)
}

// probeVersion is an expected version no stream reaches (2^62 events), so
// a probe append is always refused and never written.
const probeVersion = ExpectedVersion(math.MaxInt64 >> 1)

// StreamVersion asks the server for the stream's version in O(1): it sends
// an append of one probe event expecting a version no stream can have, and
// reads the version from the refusal. The server checks it in the
// committer, in order with every other append of the stream on this
// connection, and writes nothing. (ReadStream would also give it, but costs
// a scan of the log between the stream's first and last events: for a hot
// stream, most of the log.) The probe's ID is random, so it never matches a
// stored event (a stored ID would be answered as an idempotent retry).
func (d *Driver) StreamVersion(ctx context.Context, stream string) (uint64, error) {
	probe := drivers.Event{Key: stream, Type: "evbench.version-probe"}
	if _, err := rand.Read(probe.ID[:]); err != nil {
		return 0, fmt.Errorf("refstore: stream version %q: %w", stream, err)
	}
	_, err := d.AppendExpect(ctx, stream, probeVersion, []drivers.Event{probe})
	var ce *ConflictError
	if errors.As(err, &ce) {
		return uint64(ce.Actual + 1), nil // Actual is -1 for a stream with no events
	}
	if err == nil {
		return 0, fmt.Errorf("refstore: stream version %q: the server accepted a probe expecting version %d (server bug)", stream, int64(probeVersion))
	}
	return 0, fmt.Errorf("refstore: stream version %q: %w", stream, err)
}
