// Package outbox is the transactional outbox pattern on Postgres, as the
// systems evbench benchmarks for run it: a command writes its business row
// and an outbox row in one transaction, and relays move committed outbox
// rows to the event store (the target) afterwards.
//
// # Tables
//
// Everything lives under one table prefix (random per run by default):
// <prefix>_orders is the business table (one row per command, keyed by
// aggregate key and sequence), <prefix>_outbox the outbox (id bigserial,
// event_id, key, seq, shard, type, payload, created_at, committed_at,
// sent_at). Store.Close drops both unless asked to keep them.
//
// # Per-key order across relays
//
// A relay loops: begin; SELECT the oldest unsent rows FOR UPDATE SKIP
// LOCKED LIMIT batch; Append them to the target in id order; mark them
// sent; commit. With several relays sharing one queue, SKIP LOCKED alone
// would reorder a key: relay A locks rows 1-100, relay B skips them and
// publishes row 101, a later event of a key whose earlier event A has not
// published yet. So relays are partitioned by key: the writer stores
// shard = fnv32a(key) mod relays in each row, and relay i only reads shard
// i. A key therefore has exactly one relay, which publishes its rows in id
// order, and the writer commits a key's commands one after another (the
// runner sends a key's commands through one worker), so id order is
// sequence order. A relay additionally takes a transaction-scoped advisory
// lock on (prefix, shard) per batch, so a restarted relay can never run
// beside a predecessor that still holds rows: SKIP LOCKED then only skips
// rows of a transaction that is ending.
//
// # Crash semantics
//
// Publish, then mark. A relay that dies between the two (Relay.CrashAfter-
// NextPublish simulates it: the transaction is abandoned, as when the
// process is killed and Postgres aborts it) leaves its batch unsent, and
// the next relay of that shard publishes it again: duplicates, counted,
// never loss. A failed publish leaves the rows unsent too; the part of the
// batch that may have landed is republished (duplicates again).
//
// # Relay lag
//
// Relay lag is published time (the target acknowledged the Append) minus
// committed_at, read from the row. committed_at defaults to now(), the
// start of the command's transaction, so the lag includes the command's
// own transaction time (well under a millisecond to a few ms); both clocks
// are the same machine's when Postgres runs beside evbench.
package outbox
