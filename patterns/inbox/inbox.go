// Package inbox is the idempotent consumer: a projector keeps the IDs of
// the events it has processed and discards a redelivery instead of applying
// it twice. At-least-once delivery plus an inbox gives effectively-once
// processing, which is what production projectors rely on.
//
// Two stores: Memory (in process, lost on restart: compact per-key
// high-water marks) and Postgres (an inbox table written in the same
// transaction as the read-model row, so "processed" and "applied" can never
// disagree after a crash).
package inbox

import "context"

// Message identifies one delivered event. ID is globally unique; Key and
// Seq are the event's aggregate and its 1-based sequence within it (Memory
// uses them to keep a high-water mark per key instead of every ID). KeyIndex
// is a dense number for Key (0..keys-1) when the caller has one.
type Message struct {
	ID       [16]byte
	Key      string
	KeyIndex uint64
	Seq      uint64
}

// Inbox decides, atomically with the processing, whether an event is new.
type Inbox interface {
	// Process calls handle unless msg was processed before, and records msg
	// as processed only if handle returned nil (with Postgres, in the same
	// transaction as the read-model update). duplicate reports a discarded
	// redelivery (handle was not called). An error from handle is returned
	// as is, and msg stays unprocessed so a retry or a redrive may apply it.
	Process(ctx context.Context, msg Message, handle func() error) (duplicate bool, err error)
	// Close releases what the inbox holds (connections). Idempotent.
	Close() error
}
