package postgres

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
)

// Config is the evbench side of a postgres DSN. Everything else in the DSN
// (host, user, password, sslmode, ...) is passed to pgx unchanged.
type Config struct {
	// Schema holds the driver's tables; default "evbench". It is created if
	// missing and dropped by Reset.
	Schema string
	// Table is the events table; default "events". The position counter
	// lives beside it in <table>_head.
	Table string
	// Payload is the payload column type: "bytea" (default, byte-exact) or
	// "jsonb" (Postgres re-renders the JSON, so payloads do not round-trip
	// byte for byte).
	Payload string
	// Pool is the maximum number of pooled connections; default 10.
	Pool int32
	// BatchInsert is "values" (default: one INSERT ... SELECT FROM unnest of
	// arrays, pipelined with the rest of the transaction) or "copy" (COPY
	// FROM STDIN, faster for large batches, one more round trip).
	BatchInsert string
	// ReadBatch is how many rows a subscriber fetches per query; default 2000.
	ReadBatch int
	// Notify sends pg_notify in every append so idle subscribers wake at
	// once; default true. NOTIFY takes a cluster-wide lock at COMMIT and cost
	// about 20-30% of a single-event append here: notify=off leaves
	// subscribers on polling (set poll= low, e.g. 10ms).
	Notify bool
	// GroupCommit makes concurrent Appends share one transaction and one
	// COMMIT flush (default true). Off: one transaction per Append call.
	GroupCommit bool
	// Poll is how often an idle subscriber re-reads when no NOTIFY arrived;
	// default 100ms (NOTIFY normally wakes it sooner).
	Poll time.Duration
}

// evbenchParams are the query parameters this driver consumes.
var evbenchParams = []string{"batch_insert", "group_commit", "notify", "payload", "poll", "pool", "read_batch", "schema", "table"}

// libpqParams are passed through to pgx (libpq names plus pgx/pgxpool
// extras). synchronous_commit is sent as a session parameter.
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "database": true, "user": true,
	"password": true, "passfile": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true,
	"keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true,
	"sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true, "sslpassword": true,
	"sslcrl": true, "sslsni": true, "sslnegotiation": true, "requiressl": true, "gssencmode": true,
	"target_session_attrs": true, "service": true, "servicefile": true, "krbsrvname": true,
	"channel_binding": true, "load_balance_hosts": true, "min_read_buffer_size": true,
	"statement_cache_capacity": true, "description_cache_capacity": true, "default_query_exec_mode": true,
	"max_protocol_version": true, "min_protocol_version": true, "synchronous_commit": true,
	"pool_max_conns": true, "pool_min_conns": true, "pool_max_conn_lifetime": true,
	"pool_max_conn_idle_time": true, "pool_health_check_period": true, "pool_max_conn_lifetime_jitter": true,
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}$`)

// parseDSN splits dsn into the evbench Config and the DSN handed to pgx.
// Errors never contain the password.
func parseDSN(dsn string) (Config, string, error) {
	cfg := Config{Schema: "evbench", Table: "events", Payload: "bytea", Pool: 10,
		BatchInsert: "values", ReadBatch: 2000, Poll: 100 * time.Millisecond, Notify: true, GroupCommit: true}
	if strings.TrimSpace(dsn) == "" {
		return cfg, "", fmt.Errorf("driver postgres needs --dsn, e.g. %s", dsnExample)
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return cfg, "", fmt.Errorf("postgres: DSN %q is not a postgres:// URL; use e.g. %s", drivers.RedactDSN(dsn), dsnExample)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, "", fmt.Errorf("postgres: DSN query string: %s; separate parameters with &", drivers.Scrub(err.Error(), dsn))
	}
	var unknown []string
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "schema", "table":
			if !identRE.MatchString(v) {
				return cfg, "", fmt.Errorf("postgres: DSN parameter %s=%q: want a plain identifier (letters, digits, _; at most 41 chars)", k, v)
			}
			if k == "schema" {
				cfg.Schema = v
			} else {
				cfg.Table = v
			}
		case "payload":
			if v != "bytea" && v != "jsonb" {
				return cfg, "", fmt.Errorf("postgres: DSN parameter payload=%q: want bytea or jsonb", v)
			}
			cfg.Payload = v
		case "batch_insert":
			if v != "values" && v != "copy" {
				return cfg, "", fmt.Errorf("postgres: DSN parameter batch_insert=%q: want values or copy", v)
			}
			cfg.BatchInsert = v
		case "notify":
			if v != "on" && v != "off" {
				return cfg, "", fmt.Errorf("postgres: DSN parameter notify=%q: want on or off", v)
			}
			cfg.Notify = v == "on"
		case "group_commit":
			if v != "on" && v != "off" {
				return cfg, "", fmt.Errorf("postgres: DSN parameter group_commit=%q: want on or off", v)
			}
			cfg.GroupCommit = v == "on"
		case "pool":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return cfg, "", fmt.Errorf("postgres: DSN parameter pool=%q: want a connection count from 1 to 1000", v)
			}
			cfg.Pool = int32(n)
		case "read_batch":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1_000_000 {
				return cfg, "", fmt.Errorf("postgres: DSN parameter read_batch=%q: want rows per read from 1 to 1000000", v)
			}
			cfg.ReadBatch = n
		case "poll":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Millisecond || d > time.Minute {
				return cfg, "", fmt.Errorf("postgres: DSN parameter poll=%q: want a duration from 1ms to 1m, e.g. 100ms", v)
			}
			cfg.Poll = d
		default:
			if !libpqParams[k] {
				unknown = append(unknown, k)
			}
			continue
		}
		q.Del(k)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return cfg, "", fmt.Errorf("postgres: unknown DSN parameter %s; evbench parameters are %s, plus standard libpq parameters (sslmode, connect_timeout, application_name, user, password, ...)",
			strings.Join(unknown, ", "), strings.Join(evbenchParams, ", "))
	}
	if !q.Has("synchronous_commit") {
		q.Set("synchronous_commit", "on") // durable COMMIT is what Append promises
	}
	u.RawQuery = q.Encode()
	return cfg, u.String(), nil
}

// hasParam reports whether dsn's query sets name.
func hasParam(dsn, name string) bool {
	u, err := url.Parse(dsn)
	return err == nil && u.Query().Has(name)
}
