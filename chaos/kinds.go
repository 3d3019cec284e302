package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// faultKind is one kind of fault, Toxiproxy's toxic style: a struct holding
// its parsed parameters plus the method that says what it does to a proxy.
type faultKind interface {
	// parse reads the kind's parameters; problems are recorded in r.
	parse(r *paramReader)
	// effect is what the fault does to every proxy of its path while active.
	effect(toxicity float64) effect
}

// effect is a fault's action on one proxy: toxics to add (removed at the
// end) and/or disabling the proxy (re-enabled at the end).
type effect struct {
	toxics []toxicSpec
	down   bool
}

type kindInfo struct {
	new      func() faultKind
	toxicity bool // Toxiproxy's toxicity (share of connections hit) applies
}

var kinds = map[string]kindInfo{}

// register adds a fault kind by name; called from each fault_<kind>.go init.
func register(name string, toxicity bool, newKind func() faultKind) {
	if _, dup := kinds[name]; dup {
		panic("chaos: fault kind registered twice: " + name)
	}
	kinds[name] = kindInfo{new: newKind, toxicity: toxicity}
}

// Kinds lists the known fault kinds, sorted, for help texts and errors.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Paths a fault may target.
const (
	PathProducer = "producer"
	PathConsumer = "consumer"
	PathBoth     = "both"
)

// expandPath turns a fault path into the proxy paths it hits.
func expandPath(p string) []string {
	if p == PathBoth {
		return []string{PathProducer, PathConsumer}
	}
	return []string{p}
}

// Validate checks one fault's common keys and kind-specific parameters and
// returns a one-line error naming the field and the fix. The scenario loader
// calls it as a hook, so every problem surfaces before any load starts.
func Validate(f scenarios.Fault) error {
	if IsConsumerFault(f) {
		return validateConsumerFault(f)
	}
	if IsStoreFault(f) {
		_, err := compileStore(f)
		return err
	}
	_, err := compile(f)
	return err
}

// ValidateTimeline validates every fault and checks that each one ends
// within the run (runFor > 0), so no fault is silently cut short or skipped.
func ValidateTimeline(faults []scenarios.Fault, runFor time.Duration) error {
	for i, f := range faults {
		if err := Validate(f); err != nil {
			return fmt.Errorf("faults[%d]: %w", i, err)
		}
		if end := f.At.D() + f.For.D(); runFor > 0 && end > runFor {
			return fmt.Errorf("faults[%d]: for: ends at %s, after the run's %s; shorten at/for or lengthen the run", i, end, runFor)
		}
	}
	return nil
}

// compile validates f and returns its effect.
func compile(f scenarios.Fault) (effect, error) {
	info, ok := kinds[f.Kind]
	if _, store := storeKinds[f.Kind]; store && f.Path != "" {
		return effect{}, fmt.Errorf("path: %s acts on the store, not on a network path; write path: store", f.Kind)
	}
	if !ok && f.Path == "" {
		if _, store := storeKinds[f.Kind]; store {
			return effect{}, fmt.Errorf("path: missing; %s acts on the store: write path: store", f.Kind)
		}
	}
	if !ok {
		if f.Kind == "" {
			return effect{}, fmt.Errorf("kind: missing; write one of %s", strings.Join(Kinds(), ", "))
		}
		return effect{}, fmt.Errorf("kind: unknown fault kind %q (known: %s)", f.Kind, strings.Join(Kinds(), ", "))
	}
	switch f.Path {
	case PathProducer, PathConsumer, PathBoth:
	case "":
		if _, store := storeKinds[f.Kind]; store {
			return effect{}, fmt.Errorf("path: missing; %s acts on the store: write path: store", f.Kind)
		}
		return effect{}, fmt.Errorf("path: missing; write producer, consumer or both")
	default:
		return effect{}, fmt.Errorf("path: unknown path %q; write producer, consumer or both", f.Path)
	}
	if f.At < 0 {
		return effect{}, fmt.Errorf("at: %s is negative; write 0s or later", f.At)
	}
	if f.For <= 0 {
		return effect{}, fmt.Errorf("for: %s must be > 0; write e.g. for: 20s", f.For)
	}
	tox := 1.0
	if f.Toxicity != nil {
		if !info.toxicity {
			return effect{}, fmt.Errorf("toxicity: not supported by kind %s; remove it", f.Kind)
		}
		tox = *f.Toxicity
		if tox < 0 || tox > 1 {
			return effect{}, fmt.Errorf("toxicity: %g is outside 0..1; write e.g. toxicity: 0.5", tox)
		}
	}
	k := info.new()
	r := &paramReader{params: f.Params}
	k.parse(r)
	if err := r.finish(f.Kind); err != nil {
		return effect{}, err
	}
	return k.effect(tox), nil
}
