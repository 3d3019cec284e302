package outbox

import "strings"

// queries are the statements with the table prefix filled in once.
type queries struct {
	create, drop, unsent     string
	backlog                  string
	insertOrder, insertEvent string
	claim, mark              string
}

func newQueries(prefix string) queries {
	r := strings.NewReplacer("$P", prefix)
	return queries{
		create: r.Replace(`
CREATE TABLE $P_orders (
	key text NOT NULL,
	seq bigint NOT NULL,
	type text NOT NULL,
	payload_bytes int NOT NULL,
	placed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (key, seq));
CREATE TABLE $P_outbox (
	id bigserial PRIMARY KEY,
	event_id bytea NOT NULL,
	key text NOT NULL,
	seq bigint NOT NULL,
	shard int NOT NULL,
	type text NOT NULL,
	payload bytea NOT NULL,
	created_at bigint NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz);
CREATE INDEX $P_outbox_unsent ON $P_outbox (shard, id) WHERE sent_at IS NULL;`),
		drop:    r.Replace(`DROP TABLE IF EXISTS $P_outbox; DROP TABLE IF EXISTS $P_orders`),
		unsent:  r.Replace(`SELECT count(*) FROM $P_outbox WHERE sent_at IS NULL`),
		backlog: r.Replace(`SELECT count(*), min(committed_at) FROM $P_outbox WHERE sent_at IS NULL`),
		// A retried command whose first try committed inserts nothing:
		// the command is idempotent by (key, seq), and its outbox row
		// exists already.
		insertOrder: r.Replace(`INSERT INTO $P_orders (key, seq, type, payload_bytes) VALUES ($1, $2, $3, $4) ON CONFLICT (key, seq) DO NOTHING`),
		insertEvent: r.Replace(`INSERT INTO $P_outbox (event_id, key, seq, shard, type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`),
		claim: r.Replace(`SELECT id, event_id, key, seq, type, payload, created_at, committed_at FROM $P_outbox
	WHERE shard = $1 AND sent_at IS NULL ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`),
		mark: r.Replace(`UPDATE $P_outbox SET sent_at = now() WHERE id = ANY($1)`),
	}
}
