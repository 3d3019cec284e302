package scenarios

import (
	"strconv"
	"strings"
	"time"
)

// Consumer handling: how each projector processes an event once the store
// delivered it, as production consumers do. An optional idempotent inbox
// discards redeliveries (consumers.redeliver forces them); a flaky handler
// (consumers.failure_rate, consumers.fail_types) is retried with backoff
// (consumers.retry), dead-lettered when its tries are exhausted
// (consumers.dlq), paused by a circuit breaker (consumers.breaker), and the
// DLQ can be redriven at the end (consumers.redrive).

// Inbox and DLQ modes.
const (
	InboxNone     = "none"
	InboxMemory   = "memory"
	InboxPostgres = "postgres"
	DLQMemory     = "memory"
	DLQPostgres   = "postgres"
	DLQStore      = "store" // the driver's own (drivers.DeadLetterer)
)

// HandlerRetry is how a failed handler attempt is retried: exponential
// backoff with equal jitter (half fixed, half random).
type HandlerRetry struct {
	// Attempts is the total number of tries, the first included (>= 1).
	// Default 3.
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the wait before the first retry, doubling per retry up to
	// MaxBackoff. Default 10ms.
	Backoff Duration `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	// MaxBackoff caps the wait between tries. Default 10 x Backoff, at most
	// 1s but never below Backoff.
	MaxBackoff Duration `yaml:"max_backoff,omitempty" json:"max_backoff,omitempty"`
}

// CircuitBreaker opens above a failure rate over a rolling window: the
// consumer pauses for Cooldown, then one probe decides (closed again, or
// open for another cooldown).
type CircuitBreaker struct {
	// Threshold is the failure rate of handler attempts, in (0,1], above
	// which the breaker opens. Default 0.5.
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// Window is the rolling window the rate is computed over. Default 5s.
	Window Duration `yaml:"window,omitempty" json:"window,omitempty"`
	// Cooldown is how long the breaker stays open before a probe.
	// Default 2s.
	Cooldown Duration `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// MinCalls is the number of attempts within Window below which the
	// breaker never opens. Default 10.
	MinCalls int `yaml:"min_calls,omitempty" json:"min_calls,omitempty"`
}

// Handler defaults.
const (
	DefaultHandlerAttempts  = 3
	DefaultHandlerBackoff   = Duration(10 * time.Millisecond)
	DefaultBreakerThreshold = 0.5
	DefaultBreakerWindow    = Duration(5 * time.Second)
	DefaultBreakerCooldown  = Duration(2 * time.Second)
	DefaultBreakerMinCalls  = 10
)

// Handling reports whether the scenario asks for consumer handling at all;
// without it projectors apply events exactly as before.
func (c *Consumers) Handling() bool {
	return c.Redeliver > 0 || (c.Inbox != "" && c.Inbox != InboxNone) || c.FailureRate > 0 || len(c.FailTypes) > 0 ||
		c.Retry != nil || c.Breaker != nil || c.Redrive
}

func applyHandlerDefaults(s *Scenario) {
	c := &s.Consumers
	if c.Inbox == "" {
		c.Inbox = InboxNone
	}
	if c.DLQ == "" && c.Handling() {
		c.DLQ = DLQMemory
	}
	if r := c.Retry; r != nil {
		if r.Attempts == 0 && !s.isSet("consumers.retry.attempts") {
			r.Attempts = DefaultHandlerAttempts
		}
		if r.Backoff == 0 && !s.isSet("consumers.retry.backoff") {
			r.Backoff = DefaultHandlerBackoff
		}
		if r.MaxBackoff == 0 && !s.isSet("consumers.retry.max_backoff") {
			r.MaxBackoff = max(r.Backoff, min(10*r.Backoff, Duration(time.Second)))
		}
	}
	if b := c.Breaker; b != nil {
		if b.Threshold == 0 && !s.isSet("consumers.breaker.threshold") {
			b.Threshold = DefaultBreakerThreshold
		}
		if b.Window == 0 && !s.isSet("consumers.breaker.window") {
			b.Window = DefaultBreakerWindow
		}
		if b.Cooldown == 0 && !s.isSet("consumers.breaker.cooldown") {
			b.Cooldown = DefaultBreakerCooldown
		}
		if b.MinCalls == 0 && !s.isSet("consumers.breaker.min_calls") {
			b.MinCalls = DefaultBreakerMinCalls
		}
	}
}

// rescaleHandlers scales the failure windows with the timeline (--duration);
// retry and breaker timings are properties of the handler, not of the
// timeline, and stay.
func rescaleHandlers(s *Scenario, clamp func(at, dur *Duration)) {
	for i := range s.Consumers.FailDuring {
		clamp(&s.Consumers.FailDuring[i].At, &s.Consumers.FailDuring[i].For)
	}
}

func validFraction(f float64) bool { return !isNaN(f) && f >= 0 && f <= 1 }

// validateHandlers checks the consumer-handling keys.
func validateHandlers(p *problems, s *Scenario, total time.Duration) {
	c := s.Consumers
	if !validFraction(c.Redeliver) {
		p.add("consumers.redeliver", "%v is outside [0,1]; write the fraction of deliveries to hand over twice, e.g. 0.01", c.Redeliver)
	}
	if !validFraction(c.FailureRate) {
		p.add("consumers.failure_rate", "%v is outside [0,1]; write the probability that one handler attempt fails, e.g. 0.05", c.FailureRate)
	}
	switch c.Inbox {
	case InboxNone, InboxMemory, InboxPostgres:
	default:
		p.add("consumers.inbox", "unknown inbox %q; use none, memory or postgres", c.Inbox)
	}
	switch c.DLQ {
	case "", DLQMemory, DLQPostgres, DLQStore:
	default:
		p.add("consumers.dlq", "unknown DLQ %q; use memory, postgres or store (the store's own, e.g. RabbitMQ's <queue>.dlq)", c.DLQ)
	}
	needPG := c.Inbox == InboxPostgres || c.DLQ == DLQPostgres
	switch {
	case needPG && strings.TrimSpace(c.PostgresDSN) == "":
		p.add("consumers.postgres_dsn", "missing: consumers.inbox or consumers.dlq is postgres; write e.g. postgres_dsn: postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	case !needPG && c.PostgresDSN != "":
		p.add("consumers.postgres_dsn", "set, but neither consumers.inbox nor consumers.dlq is postgres; remove it or set inbox: postgres")
	}
	if c.Handling() && c.Projectors == 0 {
		p.add("consumers.projectors", "0, but consumer handling (inbox, redeliver, failures, retry, breaker, redrive) needs a projector; set projectors: 1 or remove those keys")
	}
	if len(c.FailTypes) > 0 && s.Events.Fixture == "" {
		known := map[string]bool{}
		for _, t := range RunTypes(s.Events) {
			known[t] = true
		}
		for i, t := range c.FailTypes {
			if !known[t] {
				p.add("consumers.fail_types["+strconv.Itoa(i)+"]", "%q is not an event type of this run; use one of: %s", t, strings.Join(RunTypes(s.Events), ", "))
			}
		}
	}
	if len(c.FailDuring) > 0 && len(c.FailTypes) == 0 {
		p.add("consumers.fail_during", "limits consumers.fail_types, which is empty; add fail_types: [PaymentCaptured] or remove fail_during")
	}
	for i, w := range c.FailDuring {
		path := "consumers.fail_during[" + strconv.Itoa(i) + "]"
		switch {
		case w.At < 0:
			p.add(path+".at", "%s is negative; write a time from the start, e.g. 10s", w.At)
		case w.For <= 0:
			p.add(path+".for", "%s must be > 0; write e.g. 3s", w.For)
		case total > 0 && w.At.D()+w.For.D() > total:
			p.add(path, "at %s for %s ends after the run (%s); end it by %s", w.At, w.For, total, total)
		}
	}
	if r := c.Retry; r != nil {
		if r.Attempts < 1 {
			p.add("consumers.retry.attempts", "%d; need at least 1 try (1 = no retry), e.g. attempts: 3", r.Attempts)
		}
		if r.Backoff <= 0 {
			p.add("consumers.retry.backoff", "%s must be > 0; write e.g. 10ms", r.Backoff)
		}
		if r.MaxBackoff < r.Backoff {
			p.add("consumers.retry.max_backoff", "%s is below backoff %s; write at least %s, e.g. 100ms", r.MaxBackoff, r.Backoff, r.Backoff)
		}
	}
	if b := c.Breaker; b != nil {
		if isNaN(b.Threshold) || b.Threshold <= 0 || b.Threshold > 1 {
			p.add("consumers.breaker.threshold", "%v is outside (0,1]; write the failure rate that opens the breaker, e.g. 0.5", b.Threshold)
		}
		if b.Window <= 0 {
			p.add("consumers.breaker.window", "%s must be > 0; write e.g. 5s", b.Window)
		}
		if b.Cooldown <= 0 {
			p.add("consumers.breaker.cooldown", "%s must be > 0; write e.g. 2s", b.Cooldown)
		}
		if b.MinCalls < 1 {
			p.add("consumers.breaker.min_calls", "%d; need at least 1, e.g. min_calls: 10", b.MinCalls)
		}
	}
}
