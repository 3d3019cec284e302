package postgres

import "fmt"

// statements is the SQL of one driver, built once at Open.
type statements struct {
	lockHead  string // lock the counter row, read the last position
	dedupe    string // which of these IDs are stored, at which position
	versions  string // current (max) version of the given streams
	insert    string // insert rows from arrays (two-phase path)
	appendAll string // dedupe, number, version, insert, move head: one statement
	setHead   string // store the new last position
	notify    string // wake subscribers
	head      string // read the last committed position
	read      string // events after a position, in order
	columns   []string
}

func newStatements(n names, cfg Config) statements {
	return statements{
		lockHead: fmt.Sprintf(`SELECT pos FROM %s WHERE id = 1 FOR UPDATE`, n.head),
		dedupe:   fmt.Sprintf(`SELECT event_id, position FROM %s WHERE event_id = ANY($1::uuid[])`, n.events),
		versions: fmt.Sprintf(`SELECT stream_id, max(stream_version) FROM %s WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`, n.events),
		insert: fmt.Sprintf(`INSERT INTO %s (position, stream_id, stream_version, event_id, type, payload, seq, created_at_ns)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::%s[], $7::bigint[], $8::bigint[])`,
			n.events, cfg.Payload),
		appendAll: fmt.Sprintf(appendAllSQL, n.events, n.head, cfg.Payload),
		setHead:   fmt.Sprintf(`UPDATE %s SET pos = $1 WHERE id = 1`, n.head),
		notify:    `SELECT pg_notify($1, $2)`,
		head:      fmt.Sprintf(`SELECT pos FROM %s WHERE id = 1`, n.head),
		read: fmt.Sprintf(`SELECT position, stream_id, event_id, type, payload, seq, created_at_ns FROM %s
			WHERE position > $1 ORDER BY position LIMIT $2`, n.events),
		columns: []string{"position", "stream_id", "stream_version", "event_id", "type", "payload", "seq", "created_at_ns"},
	}
}

// appendAllSQL does a whole append in one statement, run right after the
// head row was locked in the same transaction (so its snapshot sees every
// committed append, and the max(stream_version) lookups cannot race).
// $1..$6 are arrays of event_id, stream_id, type,
// payload, seq, created_at_ns in batch order. It returns (event_id,
// position) for the new rows and for IDs that were already stored.
const appendAllSQL = `WITH input AS (
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::%[3]s[], $5::bigint[], $6::bigint[]) WITH ORDINALITY
		AS t(event_id, stream_id, type, payload, seq, created_at_ns, ord)),
fresh AS (
	SELECT DISTINCT ON (i.event_id) i.* FROM input i
	WHERE NOT EXISTS (SELECT 1 FROM %[1]s e WHERE e.event_id = i.event_id)
	ORDER BY i.event_id, i.ord),
numbered AS (
	SELECT f.*, row_number() OVER (ORDER BY f.ord) AS rn,
		row_number() OVER (PARTITION BY f.stream_id ORDER BY f.ord) AS krn
	FROM fresh f),
h AS (SELECT pos FROM %[2]s WHERE id = 1),
ins AS (
	INSERT INTO %[1]s (position, stream_id, stream_version, event_id, type, payload, seq, created_at_ns)
	SELECT h.pos + n.rn, n.stream_id,
		COALESCE((SELECT max(e.stream_version) FROM %[1]s e WHERE e.stream_id = n.stream_id), 0) + n.krn,
		n.event_id, n.type, n.payload, n.seq, n.created_at_ns
	FROM numbered n CROSS JOIN h
	RETURNING event_id, position),
upd AS (UPDATE %[2]s SET pos = pos + (SELECT count(*) FROM fresh) WHERE id = 1)
SELECT event_id, position FROM ins
UNION ALL
SELECT e.event_id, e.position FROM %[1]s e WHERE e.event_id = ANY($1::uuid[])`

// notifySQL wakes subscribers, or (notify=off) only type-checks its
// arguments so the pipeline keeps its shape.
func notifySQL(on bool) string {
	if on {
		return `SELECT pg_notify($1, $2)`
	}
	return `SELECT $1::text, $2::text`
}
