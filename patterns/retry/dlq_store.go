package retry

import (
	"context"

	"github.com/evbench/evbench/drivers"
)

// StoreSink is a DLQ kept by the store under test (consumers.dlq: store):
// letters go where the application's own would, over the consumer's
// connection, so the store's faults and latency reach them too.
type StoreSink struct {
	q drivers.DeadLetterQueue
}

// NewStoreSink wraps a store's dead-letter queue (drivers.DeadLetterer).
func NewStoreSink(q drivers.DeadLetterQueue) *StoreSink { return &StoreSink{q: q} }

// Describe names where the letters go.
func (s *StoreSink) Describe() string { return s.q.Describe() }

// Put implements Sink.
func (s *StoreSink) Put(ctx context.Context, l Letter) error {
	return s.q.Put(ctx, drivers.DeadLetter{Consumer: l.Consumer, Attempts: l.Attempts, Err: l.Err, At: l.At,
		Event: drivers.Event{ID: l.ID, Key: l.Key, Seq: l.Seq, Type: l.Type, Payload: l.Payload, CreatedAt: l.CreatedAt}})
}

// Take implements Sink; on an error it still returns the letters the store
// had already given up.
func (s *StoreSink) Take(ctx context.Context) ([]Letter, error) {
	ls, err := s.q.Take(ctx)
	return fromStore(ls), err
}

// List implements Sink.
func (s *StoreSink) List(ctx context.Context) ([]Letter, error) {
	ls, err := s.q.List(ctx)
	return fromStore(ls), err
}

// Len implements Sink.
func (s *StoreSink) Len(ctx context.Context) (int, error) { return s.q.Len(ctx) }

// Close implements Sink.
func (s *StoreSink) Close() error { return s.q.Close() }

func fromStore(ls []drivers.DeadLetter) []Letter {
	if ls == nil {
		return nil
	}
	out := make([]Letter, len(ls))
	for i, l := range ls {
		e := l.Event
		out[i] = Letter{Consumer: l.Consumer, ID: e.ID, Key: e.Key, Seq: e.Seq, Type: e.Type, Payload: e.Payload,
			CreatedAt: e.CreatedAt, Attempts: l.Attempts, Err: l.Err, At: l.At}
	}
	return out
}
