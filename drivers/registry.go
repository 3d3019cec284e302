package drivers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Registration describes a driver to the registry.
type Registration struct {
	Name        string
	Description string // one line, shown by `evbench drivers`
	// DSNExample is shown in help and errors, e.g. "refstore://127.0.0.1:7600".
	DSNExample string
	// Open connects to the store at dsn. Configuration is validated here,
	// once, with errors naming the parameter and the fix. Register wraps it
	// so that its error never holds a secret of dsn (ScrubError).
	Open func(ctx context.Context, dsn string, opts Options) (Driver, error)
	// CheckDSN, when set, parses and validates dsn without connecting, with
	// the same errors Open would give, so the CLI can refuse a bad --dsn as a
	// usage error before anything starts. Register wraps it like Open.
	CheckDSN func(dsn string) error
	// Embed, when set, starts an in-process store with its data under dir and
	// is used when the DSN is empty. Nil means the driver needs a DSN.
	Embed func(ctx context.Context, dir string) (Embedded, error)
	// InProcess marks a driver that opens no network connection (memory):
	// the chaos layer cannot reach it, so scenarios with faults are refused
	// rather than run with faults that silently do nothing.
	InProcess bool
	// ExpectedVersion marks a driver whose connections implement
	// ExpectedAppender (optimistic concurrency), so a scenario that needs
	// it is refused before anything is opened on a driver without it.
	ExpectedVersion bool
	// DurableConsumers marks a driver whose connections implement
	// DurableSubscriber, so a scenario with consumers.durable is refused
	// before anything starts on a driver without it.
	DurableConsumers bool
	// CheckConsumers, when set, refuses before load a projector count the
	// DSN cannot serve: on a queue each projector needs its own
	// subscription or queue (pubsub subscriptions=N; sqs serves one) to
	// get every event. dsn is the resolved DSN (embedded stores' included).
	CheckConsumers func(dsn string, projectors int) error
	// CheckDeadLetters, when set, says the driver's connections implement
	// DeadLetterer (consumers.dlq: store) and refuses before load a DSN
	// whose store has no dead-letter queue (nil when it has one). Nil: the
	// driver has none, and consumers.dlq: store is refused.
	CheckDeadLetters func(dsn string) error
}

var (
	mu       sync.RWMutex
	registry = map[string]Registration{}
)

// Register makes a driver available by name. It panics on a duplicate or
// incomplete registration: both are programming errors. The registered Open
// and CheckDSN scrub their errors of the DSN's secrets (ScrubError), so no
// driver, nor the library under it, can leak a password through them.
func Register(r Registration) {
	mu.Lock()
	defer mu.Unlock()
	if r.Name == "" || r.Open == nil {
		panic("drivers: Register needs a name and an Open func")
	}
	if _, dup := registry[r.Name]; dup {
		panic("drivers: Register called twice for driver " + r.Name)
	}
	open := r.Open
	r.Open = func(ctx context.Context, dsn string, opts Options) (Driver, error) {
		d, err := open(ctx, dsn, opts)
		if err != nil {
			return nil, ScrubError(err, dsn)
		}
		return d, nil
	}
	if check := r.CheckDSN; check != nil {
		r.CheckDSN = func(dsn string) error { return ScrubError(check(dsn), dsn) }
	}
	if check := r.CheckConsumers; check != nil {
		r.CheckConsumers = func(dsn string, projectors int) error { return ScrubError(check(dsn, projectors), dsn) }
	}
	if check := r.CheckDeadLetters; check != nil {
		r.CheckDeadLetters = func(dsn string) error { return ScrubError(check(dsn), dsn) }
	}
	registry[r.Name] = r
}

// Lookup returns the registration for name, or an error listing the known
// drivers.
func Lookup(name string) (Registration, error) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[name]
	if !ok {
		return Registration{}, fmt.Errorf("unknown driver %q (known: %s)", name, strings.Join(namesLocked(), ", "))
	}
	return r, nil
}

// Names lists the registered drivers, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

// All returns every registration, sorted by name.
func All() []Registration {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Registration, 0, len(registry))
	for _, n := range namesLocked() {
		out = append(out, registry[n])
	}
	return out
}

func namesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
