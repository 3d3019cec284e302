package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/jackc/pgx/v5"
)

// Target is where relays publish: drivers.Driver satisfies it. Append must
// keep the batch's order per key and return only once the target
// acknowledged it.
type Target interface {
	Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error)
}

// LagRecorder receives each published event's relay lag
// (*measure.Recorder satisfies it).
type LagRecorder interface {
	Record(d time.Duration)
}

// ErrCrashed is what Run returns after CrashAfterNextPublish took effect.
var ErrCrashed = errors.New("outbox: relay crashed between publish and mark (simulated)")

// Relay moves the committed rows of one shard to the target. Run it in one
// goroutine; a crashed relay is replaced by a new one for the same shard.
type Relay struct {
	s      *Store
	shard  int32
	target Target
	lag    LagRecorder
	crash  atomic.Bool

	// Counters, safe to read while Run goes.
	Published  atomic.Int64 // events the target acknowledged (republished ones included)
	Batches    atomic.Int64 // acknowledged publishes
	Duplicates atomic.Int64 // events published and then not marked (a crash): published again later
	Errors     atomic.Int64 // failed publishes or transactions (the rows stay unsent)
	LastErr    atomic.Value // string: the latest error
}

// NewRelay returns relay shard (0 <= shard < Config.Relays) publishing to
// target and recording lag into lag (nil: not recorded).
func (s *Store) NewRelay(shard int, target Target, lag LagRecorder) (*Relay, error) {
	if shard < 0 || shard >= s.cfg.Relays {
		return nil, fmt.Errorf("outbox: relay %d out of range: the writer shards rows for %d relay(s)", shard, s.cfg.Relays)
	}
	return &Relay{s: s, shard: int32(shard), target: target, lag: lag}, nil
}

// Shard is the shard the relay owns.
func (r *Relay) Shard() int { return int(r.shard) }

// CrashAfterNextPublish makes the relay stop after its next acknowledged
// publish without marking the rows sent, as a relay process killed between
// the two would: Run returns ErrCrashed and the batch is republished by the
// relay that replaces it.
func (r *Relay) CrashAfterNextPublish() { r.crash.Store(true) }

// maxErrorBackoff caps the wait between failing tries: a relay whose
// target is down retries at least this often, and resumes within it.
const maxErrorBackoff = 200 * time.Millisecond

// Run publishes until ctx ends (then it returns nil) or a simulated crash
// (ErrCrashed). Errors are counted and retried after the interval, doubling
// per consecutive failure up to maxErrorBackoff, so a relay in front of a
// dead target does not load Postgres with claims it cannot publish. The
// first error of a streak and its end are logged, not every try.
func (r *Relay) Run(ctx context.Context) error {
	failing := 0
	for {
		n, err := r.step(ctx)
		if errors.Is(err, ErrCrashed) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := r.s.cfg.Interval
		switch {
		case err != nil:
			r.Errors.Add(1)
			r.LastErr.Store(err.Error())
			if failing == 0 {
				r.s.cfg.Logf("outbox relay %d: %v (retrying)", r.shard, err)
			}
			failing++
			wait = min(wait<<min(failing, 16), max(maxErrorBackoff, wait))
		case failing > 0:
			r.s.cfg.Logf("outbox relay %d: publishing again after %d failed tries", r.shard, failing)
			failing = 0
		}
		if err != nil || n < r.s.cfg.Batch {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

// claimed is one locked outbox row.
type claimed struct {
	id        int64
	committed time.Time
}

// step publishes at most one batch: lock, publish, mark, commit. It
// returns how many rows it handled.
func (r *Relay) step(ctx context.Context) (int, error) {
	tx, err := r.s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		// A crashed or failed step abandons its transaction: its locks go
		// and its rows stay unsent. Bounded, so a dead connection cannot
		// hang the relay.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	var mine bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, r.s.lockClass, r.shard).Scan(&mine); err != nil {
		return 0, fmt.Errorf("lock shard: %w", err)
	}
	if !mine {
		return 0, nil // a predecessor of this shard is still finishing
	}
	events, rows, err := r.claim(ctx, tx)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	if _, err := r.target.Append(ctx, events); err != nil {
		return 0, fmt.Errorf("publish %d event(s): %w", len(events), err)
	}
	published := time.Now()
	r.Published.Add(int64(len(events)))
	r.Batches.Add(1)
	ids := make([]int64, len(rows))
	for i, c := range rows {
		ids[i] = c.id
		if r.lag != nil {
			r.lag.Record(published.Sub(c.committed))
		}
	}
	if r.crash.CompareAndSwap(true, false) {
		r.Duplicates.Add(int64(len(events)))
		return len(events), ErrCrashed
	}
	if _, err := tx.Exec(ctx, r.s.q.mark, ids); err != nil {
		return 0, fmt.Errorf("mark %d row(s) sent: %w", len(ids), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit marks: %w", err)
	}
	return len(events), nil
}

// claim locks the shard's oldest unsent rows, in id order.
func (r *Relay) claim(ctx context.Context, tx pgx.Tx) ([]drivers.Event, []claimed, error) {
	rows, err := tx.Query(ctx, r.s.q.claim, r.shard, r.s.cfg.Batch)
	if err != nil {
		return nil, nil, fmt.Errorf("claim rows: %w", err)
	}
	defer rows.Close()
	var events []drivers.Event
	var out []claimed
	for rows.Next() {
		var e drivers.Event
		var c claimed
		var id []byte
		var seq int64
		if err := rows.Scan(&c.id, &id, &e.Key, &seq, &e.Type, &e.Payload, &e.CreatedAt, &c.committed); err != nil {
			return nil, nil, fmt.Errorf("read row: %w", err)
		}
		copy(e.ID[:], id)
		e.Seq = uint64(seq)
		events = append(events, e)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("claim rows: %w", err)
	}
	return events, out, nil
}
