package postgres

import "fmt"

// statements is the SQL of one driver, built once at Open.
type statements struct {
	lockHead   string // lock the counter row, read the last position
	dedupe     string // which of these IDs are stored, at which position
	bumpStream string // add counts to stream versions, return the new ones
	insert     string // insert rows from arrays (batch_insert=values)
	setHead    string // store the new last position
	notify     string // wake subscribers
	head       string // read the last committed position
	read       string // events after a position, in order
	columns    []string
}

func newStatements(n names, cfg Config) statements {
	return statements{
		lockHead: fmt.Sprintf(`SELECT pos FROM %s WHERE id = 1 FOR UPDATE`, n.head),
		dedupe:   fmt.Sprintf(`SELECT event_id, position FROM %s WHERE event_id = ANY($1::uuid[])`, n.events),
		bumpStream: fmt.Sprintf(`INSERT INTO %[1]s AS s (stream_id, version) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (stream_id) DO UPDATE SET version = s.version + excluded.version RETURNING stream_id, version`, n.streams),
		insert: fmt.Sprintf(`INSERT INTO %s (position, stream_id, stream_version, event_id, type, payload, seq, created_at_ns)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::%s[], $7::bigint[], $8::bigint[])`,
			n.events, cfg.Payload),
		setHead: fmt.Sprintf(`UPDATE %s SET pos = $1 WHERE id = 1`, n.head),
		notify:  `SELECT pg_notify($1, $2)`,
		head:    fmt.Sprintf(`SELECT pos FROM %s WHERE id = 1`, n.head),
		read: fmt.Sprintf(`SELECT position, stream_id, event_id, type, payload, seq, created_at_ns FROM %s
			WHERE position > $1 ORDER BY position LIMIT $2`, n.events),
		columns: []string{"position", "stream_id", "stream_version", "event_id", "type", "payload", "seq", "created_at_ns"},
	}
}
