package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
)

// Config configures a Store. Zero values take the documented defaults.
type Config struct {
	// DSN is a postgres:// or postgresql:// URL; anything else is refused.
	DSN string
	// Prefix names the tables (<prefix>_orders, <prefix>_outbox); "" = a
	// random evbox_xxxxxxxx, so concurrent runs never share tables.
	Prefix string
	// Relays is how many relays the writer shards rows for, default 1.
	Relays int
	// Batch is the most rows a relay publishes per transaction, default 100.
	Batch int
	// Interval is how long a relay sleeps after finding fewer than Batch
	// rows (or after an error), default 10 ms.
	Interval time.Duration
	// Conns caps the connections commands use, default 16 (the relays get
	// one each on top).
	Conns int
	// Keep leaves the tables in place at Close (for inspection).
	Keep bool
	// Logf receives diagnostic lines; nil discards them.
	Logf func(format string, args ...any)
}

// Defaults of Config.
const (
	DefaultRelays   = 1
	DefaultBatch    = 100
	DefaultInterval = 10 * time.Millisecond
	DefaultConns    = 16
)

var prefixRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// CheckDSN refuses a DSN that is not a Postgres URL, with the fix.
func CheckDSN(dsn string) error {
	if dsn == "" {
		return fmt.Errorf("outbox: no Postgres DSN; set outbox.dsn, e.g. postgres://127.0.0.1:5432/test")
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return fmt.Errorf("outbox: DSN %q is not a Postgres URL; the outbox needs Postgres, e.g. postgres://127.0.0.1:5432/test", drivers.RedactDSN(dsn))
	}
	return nil
}

// CheckPrefix refuses a table prefix Postgres would not take unquoted.
func CheckPrefix(p string) error {
	if p != "" && !prefixRe.MatchString(p) {
		return fmt.Errorf("outbox: table prefix %q must be lower-case letters, digits and _ (at most 41, not starting with a digit), e.g. evbox_orders", p)
	}
	return nil
}

// withDefaults checks c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if err := CheckDSN(c.DSN); err != nil {
		return c, err
	}
	if err := CheckPrefix(c.Prefix); err != nil {
		return c, err
	}
	if c.Prefix == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return c, fmt.Errorf("outbox: random table prefix: %w", err)
		}
		c.Prefix = "evbox_" + hex.EncodeToString(b[:])
	}
	if c.Relays <= 0 {
		c.Relays = DefaultRelays
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Conns <= 0 {
		c.Conns = DefaultConns
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, nil
}
