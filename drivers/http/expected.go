package httpdriver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/evbench/evbench/drivers"
)

// expectedDriver is a Driver on a front whose /info says
// "expected_version": true: commands carry the Expected-Version header
// and GET on a stream URL returns the stream's version. Open returns it
// only then, so a front that would ignore the header is never trusted
// with optimistic concurrency.
type expectedDriver struct{ *Driver }

// AppendExpected posts batch (every event of stream) with Expected-Version.
// With a batch path it is one all-or-nothing request; without, one request
// per event expecting expected, expected+1, ...: a conflict on the first
// writes nothing, one on a later event leaves the earlier ones committed
// (the error says how many).
func (d *expectedDriver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	for i := range batch {
		if batch[i].Key != stream {
			return nil, fmt.Errorf("http: AppendExpected on stream %q: event %d has key %q (every event must be in the stream)", stream, i, batch[i].Key)
		}
	}
	type result struct {
		pos []drivers.Position
		err error
	}
	ch := make(chan result, 1)
	d.enqueue(job{ctx: ctx, batch: batch, expected: int64(expected), done: func(p []drivers.Position, err error) { ch <- result{p, err} }})
	r := <-ch
	return r.pos, r.err
}

// StreamVersion is GET on the stream's URL: {"key": K, "version": N}.
func (d *expectedDriver) StreamVersion(ctx context.Context, stream string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	b, status, err := d.do(ctx, http.MethodGet, d.cfg.streamURL(stream), nil, nil)
	if err != nil {
		return 0, fmt.Errorf("http: GET stream %q: %w", stream, err)
	}
	if status == http.StatusNotFound {
		return 0, nil
	}
	if status/100 != 2 {
		return 0, fmt.Errorf("http: GET stream %q: status %d: %s", stream, status, snippet(b))
	}
	var v VersionResponse
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("http: GET stream %q: want {\"key\": K, \"version\": N}: %v", stream, err)
	}
	return v.Version, nil
}

var _ drivers.ExpectedAppender = (*expectedDriver)(nil)
