// Package scenarios defines the scenario model (what load to offer, which
// consumers to run, which faults to inject, which gates to check), loads it
// strictly from YAML, validates it with one precise line per problem, and
// ships the built-in scenarios.
package scenarios

// Scenario is one workload description. Field names are the public YAML
// contract: add freely, rename never.
type Scenario struct {
	Name        string      `yaml:"name" json:"name"`
	Description string      `yaml:"description" json:"description"`
	Events      Events      `yaml:"events" json:"events"`
	Load        Load        `yaml:"load" json:"load"`
	Consumers   Consumers   `yaml:"consumers" json:"consumers"`
	Faults      []Fault     `yaml:"faults" json:"faults"`
	SteadyState SteadyState `yaml:"steady_state,omitempty" json:"steady_state,omitempty"`
	Gates       []string    `yaml:"gates" json:"gates"`
	// Expect declares the delivery guarantees the store must give; the
	// delivery check fails a run that breaks them. Default exactly-once
	// in per-key order.
	Expect Expect `yaml:"expect,omitempty" json:"expect"`
	// Outbox, when set, sends every append through a transactional outbox
	// on Postgres and relays (see Outbox).
	Outbox *Outbox `yaml:"outbox,omitempty" json:"outbox,omitempty"`

	// Source is where the scenario came from ("builtin:burst" or a path).
	Source string `yaml:"-" json:"source,omitempty"`

	// file names the scenario in error messages ("campaign.yaml").
	file string
	// lines maps field paths ("load.stages[1].over") to YAML lines, so
	// Validate can point at the line that needs fixing.
	lines map[string]int
}

// Events describes the events the generator produces.
type Events struct {
	Size    Size   `yaml:"size" json:"size"`
	Fixture string `yaml:"fixture,omitempty" json:"fixture,omitempty"` // JSONL catalogue of payloads
	Keys    Keys   `yaml:"keys" json:"keys"`
	Batch   int    `yaml:"batch" json:"batch"` // events per append, default 1
	// Types lists event type names, picked uniformly; default a small
	// order-lifecycle catalogue.
	Types []string `yaml:"types,omitempty" json:"types,omitempty"`
	// Payload is what a synthetic payload is: "envelope" (realistic JSON,
	// the default) or "random" (bytes, exact sizes down to MinRandomSize,
	// for peer comparisons with OpenMessaging Benchmark or nats bench).
	// Ignored with Fixture, whose entries are the payloads.
	Payload string `yaml:"payload,omitempty" json:"payload,omitempty"`
	// RandomRatio is, for payload: random, the fraction of each payload's
	// bytes that are random (a random prefix of floor(size*ratio) bytes, the
	// rest zero), as OMB's randomBytesRatio, so compressibility can be set.
	// Default 1 (incompressible). Not omitempty: an explicit 0 must survive
	// Scenario.Set's re-encoding, or the default would replace it.
	RandomRatio float64 `yaml:"random_ratio" json:"random_ratio"`
	// PayloadPool is how many distinct payloads are made up front and
	// cycled through, as OMB's randomizedPayloadPoolSize. Default 1024;
	// not omitempty for the same reason as RandomRatio.
	PayloadPool int `yaml:"payload_pool" json:"payload_pool"`
	// Versions is the schema-evolution timeline: from each entry's At on,
	// producers write events of its Type at its Version (default: every
	// type at version 1). See VersionSwitch.
	Versions []VersionSwitch `yaml:"versions,omitempty" json:"versions,omitempty"`
	// Concurrency, when set, makes appends commands under optimistic
	// concurrency: writers per key that append expecting the version they
	// read and retry on conflict (see Concurrency).
	Concurrency *Concurrency `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
}

// Size bounds the size of each event's payload, in bytes: every payload is
// exactly a size drawn uniformly in [Min, Max]. Min is at least
// MinRandomSize for payload: random and at least the envelope floor (about
// 80 bytes, see EnvelopeFloor) for envelopes.
type Size struct {
	Min int `yaml:"min" json:"min"`
	Max int `yaml:"max" json:"max"`
}

// Keys describes how events pick their aggregate (stream) key.
type Keys struct {
	Count        int     `yaml:"count" json:"count"`
	Distribution string  `yaml:"distribution" json:"distribution"`       // uniform | zipf | hotset | roundrobin
	S            float64 `yaml:"s,omitempty" json:"s,omitempty"`         // zipf exponent, > 1
	Hot          float64 `yaml:"hot,omitempty" json:"hot,omitempty"`     // hotset: fraction of keys that are hot
	Share        float64 `yaml:"share,omitempty" json:"share,omitempty"` // hotset: fraction of events on hot keys
}

// Load is an open-loop arrival-rate profile: start rate, then piecewise
// linear stages (k6 ramping-arrival-rate style). Rates are events/s.
type Load struct {
	Start  float64 `yaml:"start" json:"start"`
	Stages []Stage `yaml:"stages" json:"stages"`
	// Duration is the run length when Stages is empty (constant Start rate).
	Duration Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// MaxInFlight caps concurrent appends (the harness's own protection);
	// when it bites, events are sent late and counted as late. Default 1024.
	MaxInFlight int `yaml:"max_in_flight,omitempty" json:"max_in_flight,omitempty"`
	// Events, when > 0, stops the generator after that many events even if
	// the profile goes on (the rebuild scenario writes exactly N).
	Events int64 `yaml:"events,omitempty" json:"events,omitempty"`
	// Retry, when set, retries failed appends as a real client would (same
	// event IDs, exponential backoff with jitter). Nil: a failed append is
	// final, as before.
	Retry *Retry `yaml:"retry,omitempty" json:"retry,omitempty"`
	// Warmup is the first part of the load (part of the profile, not added
	// to it): it runs like the rest but is reported apart and left out of
	// the run's percentiles, rates and gates, as OpenMessaging Benchmark's
	// warm-up is. Counted in whole 1 s intervals (rounded up). 0 = none.
	Warmup Duration `yaml:"warmup,omitempty" json:"warmup,omitempty"`
}

// Stage ramps linearly from the previous rate to To over Over.
type Stage struct {
	To   float64  `yaml:"to" json:"to"`
	Over Duration `yaml:"over" json:"over"`
}

// Consumers describes the projectors, their outages and the final rebuild.
type Consumers struct {
	Projectors int     `yaml:"projectors" json:"projectors"`
	Pause      []Pause `yaml:"pause,omitempty" json:"pause,omitempty"`
	Rebuild    string  `yaml:"rebuild,omitempty" json:"rebuild,omitempty"` // none | end
	// Drain is how long, after load ends, the harness waits for projectors
	// to reach the head before the delivery check. Default 30s.
	Drain Duration `yaml:"drain,omitempty" json:"drain,omitempty"`
	// Durable, when set, makes every projector a consumer that resumes
	// from its group's commits (see Durable).
	Durable *Durable `yaml:"durable,omitempty" json:"durable,omitempty"`
	// ProjectionCost is the CPU time a projection spends per event (real
	// work, not a sleep) in the rebuilds rebuild_workers and snapshot
	// compare, e.g. 20us. Default 0.
	ProjectionCost Duration `yaml:"projection_cost,omitempty" json:"projection_cost,omitempty"`
	// RebuildWorkers lists the worker counts P to rebuild with (keys
	// partitioned among P workers), e.g. [1, 2]. Default [1].
	RebuildWorkers []int `yaml:"rebuild_workers,omitempty" json:"rebuild_workers,omitempty"`
	// Snapshot, when set, has the live read model take a snapshot that a
	// second rebuild at each P starts from (see Snapshot).
	Snapshot *Snapshot `yaml:"snapshot,omitempty" json:"snapshot,omitempty"`
	// Canary runs an old-version reader beside the current one (see Canary).
	Canary *Canary `yaml:"canary,omitempty" json:"canary,omitempty"`
	// Redeliver is the fraction [0,1] of deliveries the harness hands the
	// projector a second time, as a broker redelivers after a lost ack
	// (see handlers.go). Default 0.
	Redeliver float64 `yaml:"redeliver,omitempty" json:"redeliver,omitempty"`
	// Inbox is the idempotent consumer's store of processed event IDs:
	// none, memory or postgres (same transaction as the read model).
	// Default none.
	Inbox string `yaml:"inbox,omitempty" json:"inbox,omitempty"`
	// PostgresDSN is the database of inbox: postgres and dlq: postgres,
	// e.g. postgres://127.0.0.1:5432/test. Left out of result.json.
	PostgresDSN string `yaml:"postgres_dsn,omitempty" json:"-"`
	// FailureRate is the probability [0,1] that one handler attempt fails
	// (transient, seeded). Default 0.
	FailureRate float64 `yaml:"failure_rate,omitempty" json:"failure_rate,omitempty"`
	// FailTypes are event types whose every handler attempt fails (within
	// FailDuring when set): poison messages, a broken downstream.
	FailTypes []string `yaml:"fail_types,omitempty" json:"fail_types,omitempty"`
	// FailDuring limits FailTypes to these windows (a downstream outage).
	FailDuring []Pause `yaml:"fail_during,omitempty" json:"fail_during,omitempty"`
	// Retry is the handler's retry policy (see HandlerRetry). Default one
	// attempt, no retry.
	Retry *HandlerRetry `yaml:"retry,omitempty" json:"retry,omitempty"`
	// DLQ is where events that exhausted their retries go: memory,
	// postgres, or store (the store's own dead-letter queue, over the
	// consumer's connection: RabbitMQ queue types' <queue>.dlq). Default
	// memory.
	DLQ string `yaml:"dlq,omitempty" json:"dlq,omitempty" jsonschema:"enum=memory,enum=postgres,enum=store"`
	// Breaker is the handler's circuit breaker (see CircuitBreaker).
	Breaker *CircuitBreaker `yaml:"breaker,omitempty" json:"breaker,omitempty"`
	// Redrive, when true, replays the DLQ through the (repaired) handler
	// after the drain, and the delivery accounting counts it.
	Redrive bool `yaml:"redrive,omitempty" json:"redrive,omitempty"`
}

// Pause is a consumer outage: projectors stop reading at At for For.
type Pause struct {
	At  Duration `yaml:"at" json:"at"`
	For Duration `yaml:"for" json:"for"`
}

// Fault is one entry of the fault timeline. Kind-specific parameters
// (latency, jitter, rate, timeout, ...) sit inline beside the common keys and
// are validated by the chaos package's registry.
type Fault struct {
	At       Duration       `yaml:"at" json:"at"`
	For      Duration       `yaml:"for" json:"for"`
	Path     string         `yaml:"path" json:"path"` // producer | consumer | both
	Kind     string         `yaml:"kind" json:"kind"`
	Toxicity *float64       `yaml:"toxicity,omitempty" json:"toxicity,omitempty"`
	Params   map[string]any `yaml:",inline" json:"params,omitempty"`

	// Line is the YAML line the fault was declared on, for error messages.
	Line int `yaml:"-" json:"-"`
}

// SteadyState is a Chaos Toolkit style hypothesis checked before the first
// fault and after the last one.
type SteadyState struct {
	Checks          []string `yaml:"checks,omitempty" json:"checks,omitempty"`
	Window          Duration `yaml:"window,omitempty" json:"window,omitempty"`
	RecoveryTimeout Duration `yaml:"recovery_timeout,omitempty" json:"recovery_timeout,omitempty"`
}
