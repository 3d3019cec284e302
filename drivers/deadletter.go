package drivers

import (
	"context"
	"time"
)

// DeadLetter is an event a consumer gave up on, as a store's own
// dead-letter queue keeps it: the event (enough to redrive it) and why.
type DeadLetter struct {
	Consumer string // who gave up on it
	Event    Event
	Attempts int
	Err      string    // the last attempt's error
	At       time.Time // when it was dead-lettered
}

// DeadLetterer is a driver whose store has a dead-letter queue of its own
// (RabbitMQ: a dead-letter exchange and its queue), so consumers.dlq: store
// puts a run's dead letters where the application's would go, and the
// redrive reads them back from there, over the consumer's connection (its
// faults included).
type DeadLetterer interface {
	// DeadLetters opens the store's DLQ for the letters of scope (the run's
	// ID): letters of other scopes, and messages evbench did not write,
	// are left where they are. An error wrapping ErrUnsupported says why
	// this connection has none (e.g. a DSN that turned dead-lettering off).
	DeadLetters(ctx context.Context, scope string) (DeadLetterQueue, error)
}

// DeadLetterQueue is one scope's view of a store's DLQ.
type DeadLetterQueue interface {
	// Put stores a letter and returns once the store has it (a publisher
	// confirm, a commit).
	Put(ctx context.Context, l DeadLetter) error
	// Take removes and returns the scope's letters, oldest first; a letter
	// put twice by one consumer is returned once. On an error it returns
	// the letters it had already removed, so none is lost.
	Take(ctx context.Context) ([]DeadLetter, error)
	// List returns the scope's letters, oldest first, leaving them.
	List(ctx context.Context) ([]DeadLetter, error)
	// Len is the number of the scope's letters waiting.
	Len(ctx context.Context) (int, error)
	// Describe names where the letters go, for the result.
	Describe() string
	// Close releases what the queue opened (not the driver). Idempotent.
	Close() error
}
