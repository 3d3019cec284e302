package scenarios

import (
	"regexp"
	"strconv"
	"time"
)

// Durable makes the projectors consumers that resume, as production
// projectors do: each reads through a consumer group (Kafka) or a durable
// consumer (NATS) of its own, named Group-p<index>, and commits its
// position in the store, so a restarted projector goes on from its last
// commit instead of from a cursor the harness kept.
type Durable struct {
	// Group is the consumer group name the projectors' groups start with
	// ([A-Za-z0-9_-], at most 180 characters). Default evbench-<run id>,
	// a fresh group per run.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// CommitEvery commits after that many delivered events; batches are
	// cut so no more are ever uncommitted, so a restart replays at most
	// that many. Default 100; 0 = no event bound.
	CommitEvery int `yaml:"commit_every" json:"commit_every"`
	// CommitInterval commits at least that often while events are
	// delivered. Default 1s; 0 = no time bound (both 0: commit after every
	// batch).
	CommitInterval Duration `yaml:"commit_interval" json:"commit_interval"`
}

// KindConsumerRestart is the fault that kills a durable projector's
// subscription at its at (no final commit, as a crashed process makes
// none) and starts it again after its for (default 0), from what its group
// committed. It acts on the harness's own consumer, so it takes no path;
// its parameter projector (default 0) picks the projector.
const KindConsumerRestart = "consumer-restart"

// Durable consumer defaults.
const (
	DefaultCommitEvery    = 100
	DefaultCommitInterval = Duration(time.Second)
)

// IsPathless reports whether a fault takes no path: the kinds the runner
// carries out itself (consumer-restart), not the chaos proxies.
func IsPathless(f Fault) bool { return f.Kind == KindConsumerRestart }

func applyDurableDefaults(s *Scenario) {
	d := s.Consumers.Durable
	if d == nil {
		return
	}
	if d.CommitEvery == 0 && !s.isSet("consumers.durable.commit_every") {
		d.CommitEvery = DefaultCommitEvery
	}
	if d.CommitInterval == 0 && !s.isSet("consumers.durable.commit_interval") {
		d.CommitInterval = DefaultCommitInterval
	}
}

var groupRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,180}$`)

// validateDurable checks consumers.durable and every consumer-restart: it
// needs durable consumers (a projector reading from a cursor has nothing
// to resume from), a projector that exists, and a scenario that expects
// at-least-once delivery, since a restart replays what was not committed
// by design.
func validateDurable(p *problems, s *Scenario) {
	if d := s.Consumers.Durable; d != nil {
		if d.Group != "" && !groupRe.MatchString(d.Group) {
			p.add("consumers.durable.group", "%q is not a consumer group name; use 1-180 of [A-Za-z0-9_-], e.g. group: orders-projector", d.Group)
		}
		if d.CommitEvery < 0 {
			p.add("consumers.durable.commit_every", "%d is negative; write the events per commit, e.g. commit_every: 100", d.CommitEvery)
		}
		if d.CommitInterval < 0 {
			p.add("consumers.durable.commit_interval", "%s is negative; write e.g. commit_interval: 1s", d.CommitInterval)
		}
	}
	for i, f := range s.Faults {
		if f.Kind != KindConsumerRestart {
			continue
		}
		path := "faults[" + strconv.Itoa(i) + "]"
		if f.Path != "" && f.Path != "consumer" {
			p.add(path+".path", "%q: consumer-restart restarts a projector, not a network path; remove path", f.Path)
		}
		if s.Consumers.Durable == nil {
			p.add(path, "consumer-restart resumes a durable consumer from its commits; add consumers.durable: {} (or a group and commit_every)")
		}
		if s.Expect.Delivery != DeliveryAtLeastOnce {
			p.add(path, "consumer-restart replays what the projector had not committed, by design; declare expect: {delivery: at-least-once}")
		}
		if n, ok := restartProjector(f); !ok {
			p.add(path+".projector", "%v is not a projector index; write e.g. projector: 0", f.Params["projector"])
		} else if n >= s.Consumers.Projectors {
			p.add(path+".projector", "%d, but the scenario runs %d projector(s) (0-based); pick one below %d", n, s.Consumers.Projectors, s.Consumers.Projectors)
		}
	}
}

// RestartProjector is the projector a consumer-restart fault restarts
// (parameter projector, default 0); ok is false when the parameter is not
// a whole number >= 0.
func RestartProjector(f Fault) (int, bool) { return restartProjector(f) }

func restartProjector(f Fault) (int, bool) {
	v, ok := f.Params["projector"]
	if !ok {
		return 0, true
	}
	switch n := v.(type) {
	case int:
		return n, n >= 0
	case int64:
		return int(n), n >= 0
	case uint64:
		return int(n), true
	case float64:
		return int(n), n >= 0 && n == float64(int(n))
	}
	return 0, false
}
