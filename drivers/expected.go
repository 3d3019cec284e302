package drivers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ExpectedAppender is the event store's core write: append to one stream
// only if the stream is still at the version the writer read
// (optimistic concurrency). A stream's version is the number of events in
// it, so an event's Seq is the version after it: a new stream is at 0 and
// its first event has Seq 1.
//
// Drivers that cannot check a stream's version atomically with the append
// (Kafka) do not implement it; scenarios that need it are refused before
// load starts.
type ExpectedAppender interface {
	// AppendExpected appends batch (every event's Key is stream) if the
	// stream is at version expected, atomically, and returns once the
	// store acknowledged it. A stream at another version returns a
	// *ConflictError and writes nothing.
	AppendExpected(ctx context.Context, stream string, expected uint64, batch []Event) ([]Position, error)
	// StreamVersion reads a stream's current version (0: no events).
	StreamVersion(ctx context.Context, stream string) (uint64, error)
}

// ErrConflict is what errors.Is finds in every *ConflictError.
var ErrConflict = errors.New("expected version conflict")

// ConflictError is an append refused because its stream was not at the
// expected version. Actual is the version the store saw when it checked,
// when it reports one (0 with ActualKnown false otherwise).
type ConflictError struct {
	Stream      string
	Expected    uint64
	Actual      uint64
	ActualKnown bool
}

func (e *ConflictError) Error() string {
	if !e.ActualKnown {
		return fmt.Sprintf("append stream %q: expected version %d: conflict", e.Stream, e.Expected)
	}
	return fmt.Sprintf("append stream %q: expected version %d, stream is at %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// DurableSubscriber is a consumer that resumes where it left off, as a
// production projector does: a Kafka consumer group or a NATS durable
// consumer, whose committed offsets or acks live in the store. Subscribe
// (the Driver method) always starts from the cursor it is given; this one
// starts from what the group committed, so a restarted projector replays
// at most what it had not committed yet.
type DurableSubscriber interface {
	// SubscribeDurable delivers events from the group's committed position
	// (the beginning of the stream for a new group) until ctx ends or
	// deliver returns an error. Delivered batches are committed at least
	// every commitEvery (and when ctx ends, best effort): a restart
	// replays at most the events delivered since the last commit. It
	// returns nil when ctx was cancelled.
	SubscribeDurable(ctx context.Context, group string, commitEvery CommitPolicy, deliver func([]Delivered) error) error
}

// CommitPolicy says how often a durable subscriber commits what it was
// delivered: after Events events or Interval, whichever comes first (a
// zero field is not a bound; both zero: after every batch).
type CommitPolicy struct {
	Events   int
	Interval time.Duration
}
