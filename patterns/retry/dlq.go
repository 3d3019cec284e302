package retry

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"
)

// Letter is a dead-lettered event: the event itself (enough to redrive
// it) and why it was given up.
type Letter struct {
	Consumer  string // who gave up on it
	ID        [16]byte
	Key       string
	Seq       uint64
	Type      string
	Payload   []byte
	CreatedAt int64 // the event's scheduled time (unix ns)
	Attempts  int
	Err       string    // the last attempt's error
	At        time.Time // when it was dead-lettered
}

// Sink is a dead-letter queue.
type Sink interface {
	// Put stores a letter durably (as durable as the sink is).
	Put(ctx context.Context, l Letter) error
	// Take removes and returns every letter (oldest first), for a redrive.
	Take(ctx context.Context) ([]Letter, error)
	// List returns every letter waiting (oldest first), leaving them.
	List(ctx context.Context) ([]Letter, error)
	// Len is the number of letters waiting.
	Len(ctx context.Context) (int, error)
	// Close releases the sink's resources. Idempotent.
	Close() error
}

// MemorySink is an in-process DLQ: lost with the process, which is right
// for a benchmark run whose redrive happens before it exits.
type MemorySink struct {
	mu      sync.Mutex
	letters []Letter
}

// NewMemorySink returns an empty in-memory DLQ.
func NewMemorySink() *MemorySink { return &MemorySink{} }

// Put implements Sink.
func (m *MemorySink) Put(_ context.Context, l Letter) error {
	l.Payload = bytes.Clone(l.Payload) // the caller's buffer may be reused
	m.mu.Lock()
	defer m.mu.Unlock()
	m.letters = append(m.letters, l)
	return nil
}

// List implements Sink.
func (m *MemorySink) List(context.Context) ([]Letter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.letters), nil
}

// Take implements Sink.
func (m *MemorySink) Take(context.Context) ([]Letter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.letters
	m.letters = nil
	return out, nil
}

// Len implements Sink.
func (m *MemorySink) Len(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.letters), nil
}

// Close implements Sink.
func (m *MemorySink) Close() error { return nil }

// sortLetters orders letters by when they were dead-lettered.
func sortLetters(ls []Letter) {
	slices.SortStableFunc(ls, func(a, b Letter) int { return a.At.Compare(b.At) })
}
