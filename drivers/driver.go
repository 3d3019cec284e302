// Package drivers holds the contract every event store driver implements and
// the registry the CLI resolves driver names through (database/sql style).
//
// The contract is deliberately small: Append, Subscribe, Head, Close. Optional
// capabilities (asynchronous appends, schema reset, an embedded server) are
// discovered by type assertion or through the Registration, never by growing
// the core interface.
package drivers

import (
	"context"
	"errors"
	"net"
)

// Event is one event as the harness generates it. Drivers must round-trip
// every field (ID, Key, Seq, Type, Payload, CreatedAt) through the store so the
// projector can check delivery and measure end-to-end latency.
type Event struct {
	ID        [16]byte // stable, for dedupe and the delivery check
	Key       string   // aggregate / stream id: ordering is per key
	Seq       uint64   // per-key sequence number (1-based), for order checking
	Type      string
	Payload   []byte // envelope JSON: id, type, version, correlationId, causationId, timestamp, data
	CreatedAt int64  // scheduled send time (unix ns), for end-to-end latency
}

// Position is where a store put an event. Single-log stores (refstore,
// postgres, nats, memory) use Partition 0 and a 0-based global Offset;
// partitioned stores (kafka) use the partition and its offset.
type Position struct {
	Partition int32
	Offset    int64
}

// Cursor is a resume point: the next offset to read, per partition. A nil or
// empty Cursor means "from the very beginning". Head returns a Cursor too, so
// lag is simply Head minus the consumer's Cursor, summed over partitions.
type Cursor map[int32]int64

// Total is the sum of the next offsets over all partitions: the number of
// events before the cursor on a gapless store.
func (c Cursor) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Clone returns an independent copy.
func (c Cursor) Clone() Cursor {
	out := make(Cursor, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// Advance moves the cursor past p.
func (c Cursor) Advance(p Position) {
	if next := p.Offset + 1; next > c[p.Partition] {
		c[p.Partition] = next
	}
}

// Lag is how many events head is ahead of at, never negative per partition.
func Lag(head, at Cursor) int64 {
	var n int64
	for p, h := range head {
		if d := h - at[p]; d > 0 {
			n += d
		}
	}
	return n
}

// Delivered is an event as a subscriber receives it, with its position.
type Delivered struct {
	Event
	Position Position
}

// Driver is one connection to an event store. All methods are safe for
// concurrent use.
type Driver interface {
	// Append durably stores the batch and returns once the store acknowledged
	// it (Kafka acks=all, JetStream PubAck, Postgres COMMIT, refstore fsync'd
	// group). Positions are returned in batch order. On error none, some or all
	// of the batch may have landed; the harness treats such events as
	// ambiguous, never as lost.
	Append(ctx context.Context, batch []Event) ([]Position, error)
	// Subscribe delivers events from the cursor on (catch-up, then live) until
	// ctx ends or deliver returns an error. Within a key, events arrive in
	// append order. It returns nil when ctx was cancelled.
	Subscribe(ctx context.Context, from Cursor, deliver func([]Delivered) error) error
	// Head is the next offset per partition: everything before it is committed.
	Head(ctx context.Context) (Cursor, error)
	// Close releases the connection. It is idempotent.
	Close() error
}

// AsyncAppender is implemented by drivers whose client is asynchronous by
// nature (franz-go Produce, JetStream PublishAsync). The generator uses it to
// keep thousands of appends in flight from one goroutine. done is called
// exactly once, from any goroutine.
type AsyncAppender interface {
	AppendAsync(ctx context.Context, batch []Event, done func([]Position, error))
}

// Resetter is implemented by drivers that can drop everything they created
// (topics, streams, schemas) so a run starts from an empty store.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Deduplicator reports what the store does with a retried append carrying
// event IDs it has already stored: true when it returns the original
// positions without writing again.
type Deduplicator interface {
	DeduplicatesByID() bool
}

// DialFunc opens a network connection. The chaos layer passes one that routes
// every connection of a path through its proxy.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Options carries what the harness gives every driver at Open.
type Options struct {
	// Dial, when set, must be used for every connection the driver opens, so
	// that no traffic can bypass the fault-injection proxy.
	Dial DialFunc
	// Logf receives diagnostic lines; nil means discard.
	Logf func(format string, args ...any)
	// Reset asks the driver to drop and recreate what it owns before use.
	Reset bool
	// Role is "producer", "consumer" or "" and only names the connection in
	// logs and client ids.
	Role string
}

// Dialer returns o.Dial or a plain net.Dialer.
func (o Options) Dialer() DialFunc {
	if o.Dial != nil {
		return o.Dial
	}
	var d net.Dialer
	return d.DialContext
}

// Log calls Logf when set.
func (o Options) Log(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Embedded is a store the driver started in-process (refstore, kfake,
// nats-server) because the DSN was empty.
type Embedded interface {
	// DSN addresses the embedded store; open drivers with it.
	DSN() string
	// Describe says what runs, for the result's environment section
	// (e.g. "refstore sync=always").
	Describe() string
	Close() error
}

// ErrUnsupported is wrapped by errors about optional capabilities.
var ErrUnsupported = errors.New("not supported")

// AppendAndWait is a synchronous Append for drivers whose native path is
// AppendAsync: it waits for done, which such drivers guarantee to call
// (their own delivery timeouts bound it).
func AppendAndWait(ctx context.Context, a AsyncAppender, batch []Event) ([]Position, error) {
	type result struct {
		pos []Position
		err error
	}
	ch := make(chan result, 1)
	a.AppendAsync(ctx, batch, func(pos []Position, err error) { ch <- result{pos, err} })
	r := <-ch
	return r.pos, r.err
}

// BatchAtomicity is implemented by drivers that declare whether one Append
// of several events lands all-or-nothing (one transaction or one fsync'd
// record group) or as independent writes that may land in part (N produces
// or publishes). The result reports it as driver.batch_atomic, because
// events.batch means a different thing on each kind of store.
type BatchAtomicity interface {
	BatchAtomic() bool
}

// Durability is what an acknowledgement means on the store, as detected
// from the store itself (server settings, the connection's parameters),
// so every result says whether its commit latency includes an fsync.
type Durability struct {
	// AckAfterFsync is "true" (the ack follows an fsync of the data),
	// "false" (the ack can come before: a crash of the machine can lose
	// acknowledged events) or "unknown" (the store does not say).
	AckAfterFsync string
	// Replication says how many copies an ack waits for, when known
	// ("acks=all", "none (single copy)").
	Replication string
	// Detail is one line for people: the settings it was read from.
	Detail string
	// Source says where it was read: "SHOW fsync, synchronous_commit",
	// "server handshake", "DSN", "managed store configuration".
	Source string
}

// Ack-after-fsync values.
const (
	AckAfterFsyncTrue    = "true"
	AckAfterFsyncFalse   = "false"
	AckAfterFsyncUnknown = "unknown"
)

// DurabilityReporter is implemented by drivers that can tell what their
// store's acknowledgement means. It may query the store (bounded by ctx);
// on error the harness records AckAfterFsyncUnknown with the reason.
type DurabilityReporter interface {
	Durability(ctx context.Context) (Durability, error)
}
