package scenarios

// Concurrency makes every append a command of an event-sourced aggregate
// under optimistic concurrency: WritersPerKey command handlers per key
// (aggregate) each keep their own view of the stream's version, append
// expecting it, and on a conflict reload the version and retry, up to
// MaxRetries times, after which the command fails. The store must check
// the version atomically (drivers with the expected-version capability:
// refstore, postgres, nats, memory; not kafka).
type Concurrency struct {
	// ExpectedVersion turns it on: appends expect the version the writer
	// read (the only mode so far; false leaves appends unconditional).
	ExpectedVersion bool `yaml:"expected_version" json:"expected_version"`
	// WritersPerKey is how many command handlers compete for each key
	// (>= 1; 1 means no competition, so no conflicts). Default 1.
	WritersPerKey int `yaml:"writers_per_key" json:"writers_per_key"`
	// MaxRetries is how many times a command retries after a conflict
	// before it fails (>= 0). Default 10.
	MaxRetries int `yaml:"max_retries" json:"max_retries"`
}

// Concurrency defaults and bounds.
const (
	DefaultWritersPerKey = 1
	DefaultMaxRetries    = 10
	// MaxWritersPerKey bounds writers_per_key: a writer's index travels in
	// one byte of the event ID, so two writers' events never share an ID.
	MaxWritersPerKey = 255
)

// UsesExpectedVersion reports whether the scenario's appends need the
// expected-version capability.
func (s *Scenario) UsesExpectedVersion() bool {
	return s.Events.Concurrency != nil && s.Events.Concurrency.ExpectedVersion
}

func applyConcurrencyDefaults(s *Scenario) {
	c := s.Events.Concurrency
	if c == nil {
		return
	}
	if c.WritersPerKey == 0 && !s.isSet("events.concurrency.writers_per_key") {
		c.WritersPerKey = DefaultWritersPerKey
	}
	if c.MaxRetries == 0 && !s.isSet("events.concurrency.max_retries") {
		c.MaxRetries = DefaultMaxRetries
	}
}

// validateConcurrency checks events.concurrency and what it cannot be
// combined with.
func validateConcurrency(p *problems, s *Scenario) {
	c := s.Events.Concurrency
	if c == nil {
		return
	}
	const path = "events.concurrency"
	if !c.ExpectedVersion {
		p.add(path+".expected_version", "false; set expected_version: true (optimistic concurrency), or remove events.concurrency")
	}
	if c.WritersPerKey < 1 || c.WritersPerKey > MaxWritersPerKey {
		p.add(path+".writers_per_key", "%d; need 1..%d command handlers per key, e.g. 4", c.WritersPerKey, MaxWritersPerKey)
	}
	if c.MaxRetries < 0 {
		p.add(path+".max_retries", "%d is negative; write retries after a conflict >= 0, e.g. %d", c.MaxRetries, DefaultMaxRetries)
	}
	if s.Load.Retry != nil {
		p.add("load.retry", "cannot be combined with events.concurrency, whose command handlers retry conflicts themselves (max_retries); remove load.retry")
	}
	if s.Outbox != nil {
		p.add("outbox", "cannot be combined with events.concurrency: outbox commands are not appends to a stream at a version; remove one of them")
	}
}
