package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Outbox turns the generator's appends into commands of a transactional
// outbox on Postgres: each command writes a business row and an outbox row
// in one transaction (its commit is the run's commit latency), and relays
// publish the committed rows to the run's driver, which the projectors read
// as usual. So e2e and the delivery check span the relay, and a fault on
// the producer path (the relays' connection to the driver) delays
// publishing.
type Outbox struct {
	// DSN is the Postgres database holding the outbox (a postgres:// URL;
	// required), e.g. postgres://127.0.0.1:5432/test.
	DSN string `yaml:"dsn" json:"dsn"`
	// Relays is how many relays publish, each owning the keys whose hash
	// falls in its shard (so a key is never reordered). Default 1.
	Relays int `yaml:"relays,omitempty" json:"relays,omitempty"`
	// Batch is the most rows a relay publishes per transaction. Default 100.
	Batch int `yaml:"batch,omitempty" json:"batch,omitempty"`
	// Interval is how long a relay sleeps when it found fewer rows than a
	// batch. Default 10ms.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Conns caps the Postgres connections commands use. Default 16.
	Conns int `yaml:"conns,omitempty" json:"conns,omitempty"`
	// Prefix names the tables (<prefix>_orders, <prefix>_outbox); default
	// a random one per run. Tables are dropped at the end unless Keep.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Keep leaves the outbox tables in place after the run.
	Keep bool `yaml:"keep,omitempty" json:"keep,omitempty"`
	// RelayCrashes kill a relay between publish and mark at At and start
	// a new one For later: its last batch is published twice (duplicates,
	// counted; never loss).
	RelayCrashes []RelayCrash `yaml:"relay_crashes,omitempty" json:"relay_crashes,omitempty"`
}

// RelayCrash is one simulated relay crash.
type RelayCrash struct {
	At  Duration `yaml:"at" json:"at"`
	For Duration `yaml:"for" json:"for"`
	// Relay is the index of the relay that crashes (default 0).
	Relay int `yaml:"relay,omitempty" json:"relay,omitempty"`
}

// Outbox defaults.
const (
	DefaultOutboxRelays   = 1
	DefaultOutboxBatch    = 100
	DefaultOutboxInterval = Duration(10 * time.Millisecond)
	DefaultOutboxConns    = 16
)

var outboxPrefixRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

func applyOutboxDefaults(s *Scenario) {
	o := s.Outbox
	if o == nil {
		return
	}
	if o.Relays == 0 {
		o.Relays = DefaultOutboxRelays
	}
	if o.Batch == 0 {
		o.Batch = DefaultOutboxBatch
	}
	if o.Interval == 0 {
		o.Interval = DefaultOutboxInterval
	}
	if o.Conns == 0 {
		o.Conns = DefaultOutboxConns
	}
}

func validateOutbox(p *problems, s *Scenario, total time.Duration) {
	o := s.Outbox
	if o == nil {
		return
	}
	switch {
	case o.DSN == "":
		p.add("outbox.dsn", "missing: the outbox needs a Postgres database; write e.g. dsn: postgres://127.0.0.1:5432/test")
	case !strings.HasPrefix(o.DSN, "postgres://") && !strings.HasPrefix(o.DSN, "postgresql://"):
		p.add("outbox.dsn", "is not a postgres:// URL: the outbox needs Postgres; write e.g. dsn: postgres://127.0.0.1:5432/test")
	}
	if o.Relays < 0 || o.Relays > 64 {
		p.add("outbox.relays", "%d is outside 1..64; write e.g. relays: 2", o.Relays)
	}
	if o.Batch < 0 || o.Batch > 10000 {
		p.add("outbox.batch", "%d is outside 1..10000; write e.g. batch: 100", o.Batch)
	}
	if o.Interval < 0 {
		p.add("outbox.interval", "%s is negative; write e.g. interval: 10ms", o.Interval)
	}
	if o.Conns < 0 || o.Conns > 1000 {
		p.add("outbox.conns", "%d is outside 1..1000; write e.g. conns: 16", o.Conns)
	}
	if o.Prefix != "" && !outboxPrefixRe.MatchString(o.Prefix) {
		p.add("outbox.prefix", "%q must be lower-case letters, digits and _ (at most 41, not starting with a digit); write e.g. prefix: evbox_orders", o.Prefix)
	}
	for i, c := range o.RelayCrashes {
		path := "outbox.relay_crashes[" + strconv.Itoa(i) + "]"
		if c.At < 0 || (total > 0 && c.At.D() >= total) {
			p.add(path+".at", "%s is outside the run (0..%s); write a time within it, e.g. 5s", c.At, total)
		}
		if c.For < 0 {
			p.add(path+".for", "%s is negative; write e.g. 1s", c.For)
		}
		if relays := max(o.Relays, 1); c.Relay < 0 || c.Relay >= relays {
			p.add(path+".relay", "%d is not a relay of outbox.relays=%d; write 0..%d", c.Relay, relays, relays-1)
		}
	}
}

func rescaleOutbox(s *Scenario, scale func(*Duration)) {
	if s.Outbox == nil {
		return
	}
	for i := range s.Outbox.RelayCrashes {
		scale(&s.Outbox.RelayCrashes[i].At)
		scale(&s.Outbox.RelayCrashes[i].For)
	}
}

// String describes the outbox section in one line, for logs.
func (o *Outbox) String() string {
	if o == nil {
		return "no outbox"
	}
	return fmt.Sprintf("outbox on Postgres, %d relay(s), batch %d, interval %s", o.Relays, o.Batch, o.Interval)
}
