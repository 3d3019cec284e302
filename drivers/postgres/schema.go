package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// names holds the quoted identifiers and the NOTIFY channel of one
// schema/table pair.
type names struct {
	schema  string // quoted schema
	events  string // quoted schema.table
	head    string // quoted schema.table_head: single-row position counter
	channel string // NOTIFY channel (unquoted, for pg_notify)
	lockKey string // advisory-lock key text for DDL
}

func newNames(cfg Config) names {
	q := func(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
	return names{
		schema:  q(cfg.Schema),
		events:  q(cfg.Schema, cfg.Table),
		head:    q(cfg.Schema, cfg.Table+"_head"),
		channel: "evbench_" + cfg.Schema + "_" + cfg.Table,
		lockKey: "evbench:" + cfg.Schema,
	}
}

// createSQL creates everything if missing. Positions are 1-based in the
// table (0-based offsets to the harness); the head row holds the last
// assigned position.
func createSQL(n names, payload string) string {
	return fmt.Sprintf(`
CREATE SCHEMA IF NOT EXISTS %[1]s;
CREATE TABLE IF NOT EXISTS %[2]s (id int PRIMARY KEY CHECK (id = 1), pos bigint NOT NULL);
INSERT INTO %[2]s (id, pos) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS %[3]s (
	position       bigint PRIMARY KEY,
	stream_id      text NOT NULL,
	stream_version bigint NOT NULL,
	event_id       uuid NOT NULL UNIQUE,
	type           text NOT NULL,
	payload        %[4]s NOT NULL,
	seq            bigint NOT NULL,
	created_at_ns  bigint NOT NULL,
	recorded_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (stream_id, stream_version)
);`, n.schema, n.head, n.events, payload)
}

// ensureSchema creates the schema (dropping it first when reset) under a
// transaction-scoped advisory lock, so concurrent Opens never race on
// CREATE ... IF NOT EXISTS (which is not atomic in Postgres).
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, cfg Config, reset bool) error {
	n := newNames(cfg)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: create schema %s: %w", cfg.Schema, err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, n.lockKey); err != nil {
		return fmt.Errorf("postgres: lock schema %s: %w", cfg.Schema, err)
	}
	if reset {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+n.schema+" CASCADE"); err != nil {
			return fmt.Errorf("postgres: drop schema %s: %w", cfg.Schema, err)
		}
	}
	if _, err := tx.Exec(ctx, createSQL(n, cfg.Payload)); err != nil {
		return fmt.Errorf("postgres: create tables in schema %s: %w", cfg.Schema, err)
	}
	var have string
	err = tx.QueryRow(ctx, `SELECT data_type FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 AND column_name = 'payload'`, cfg.Schema, cfg.Table).Scan(&have)
	if err != nil {
		return fmt.Errorf("postgres: inspect table %s.%s: %w", cfg.Schema, cfg.Table, err)
	}
	if have != cfg.Payload {
		return fmt.Errorf("postgres: table %s.%s stores payload as %s but the DSN asks payload=%s; use another schema= or --reset",
			cfg.Schema, cfg.Table, have, cfg.Payload)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: create schema %s: commit: %w", cfg.Schema, err)
	}
	return nil
}

// DropSchema removes the schema and everything in it. Tests use it for
// cleanup; Reset drops and recreates.
func (d *Driver) DropSchema(ctx context.Context) error {
	if _, err := d.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+d.n.schema+" CASCADE"); err != nil {
		return fmt.Errorf("postgres: drop schema %s: %w", d.cfg.Schema, err)
	}
	return nil
}

// Reset drops the schema and recreates it empty (drivers.Resetter).
func (d *Driver) Reset(ctx context.Context) error {
	return ensureSchema(ctx, d.pool, d.cfg, true)
}
