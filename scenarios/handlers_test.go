package scenarios

import (
	"strings"
	"testing"
	"time"
)

// withConsumers adds block-style keys under base's consumers section.
func withConsumers(keys string) string {
	return strings.Replace(base, "  rebuild: end\n", "  rebuild: end\n  "+strings.ReplaceAll(keys, "\n", "\n  ")+"\n", 1)
}

func TestHandlerValidation(t *testing.T) {
	cases := []struct{ keys, want string }{
		{"redeliver: 0.01\ninbox: memory", ""},
		{"failure_rate: 0.05\nfail_types: [PaymentCaptured]\nretry: {attempts: 3}\nbreaker: {threshold: 0.5}\nredrive: true", ""},
		{"inbox: postgres\npostgres_dsn: postgres://127.0.0.1:5432/test", ""},
		{"failure_rate: 1.5", "campaign.yaml:17: consumers.failure_rate: 1.5 is outside [0,1]"},
		{"failure_rate: -0.1", "consumers.failure_rate: -0.1 is outside [0,1]"},
		{"redeliver: 2", "consumers.redeliver: 2 is outside [0,1]"},
		{"inbox: redis", `consumers.inbox: unknown inbox "redis"; use none, memory or postgres`},
		{"dlq: kafka\nfailure_rate: 0.1", `consumers.dlq: unknown DLQ "kafka"`},
		{"inbox: postgres", "consumers.postgres_dsn: missing: consumers.inbox or consumers.dlq is postgres"},
		{"dlq: postgres\nfailure_rate: 0.1", "consumers.postgres_dsn: missing"},
		{"postgres_dsn: postgres://x/y", "consumers.postgres_dsn: set, but neither"},
		{"fail_types: [PaymentCapturd]", `consumers.fail_types[0]: "PaymentCapturd" is not an event type of this run`},
		{"fail_during: [{at: 1s, for: 1s}]", "consumers.fail_during: limits consumers.fail_types, which is empty"},
		{"fail_types: [OrderPlaced]\nfail_during: [{at: 99s, for: 5s}]", "consumers.fail_during[0]: at 1m39s for 5s ends after the run"},
		{"retry: {attempts: 0}", "consumers.retry.attempts: 0; need at least 1 try"},
		{"retry: {backoff: 100ms, max_backoff: 10ms}", "consumers.retry.max_backoff: 10ms is below backoff 100ms"},
		{"retry: {backoff: 10}", "has no unit"},
		{"breaker: {threshold: 0}", "consumers.breaker.threshold: 0 is outside (0,1]"},
		{"breaker: {threshold: 0.5, cooldown: -1s}", "consumers.breaker.cooldown: -1s must be > 0"},
		{"breaker: {threshold: 0.5, windw: 1s}", `unknown field "windw"`},
	}
	for _, c := range cases {
		err := parseAndValidate("campaign.yaml", withConsumers(c.keys))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.keys, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want %q", c.keys, err, c.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%q: more than one line: %v", c.keys, err)
		}
	}
	noProj := strings.Replace(withConsumers("inbox: memory"), "projectors: 1", "projectors: 0", 1)
	noProj = strings.Replace(noProj, "  pause: [{at: 40s, for: 15s}]\n", "", 1)
	if err := parseAndValidate("campaign.yaml", noProj); err == nil || !strings.Contains(err.Error(), "needs a projector") {
		t.Errorf("handling without a projector: %v", err)
	}
}

func TestHandlerDefaultsAndRescale(t *testing.T) {
	s, err := Parse("c.yaml", []byte(withConsumers("fail_types: [OrderPlaced]\nfail_during: [{at: 50s, for: 10s}]\nretry: {}\nbreaker: {threshold: 0.4}")))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Consumers
	if !c.Handling() || c.Inbox != InboxNone || c.DLQ != DLQMemory {
		t.Errorf("inbox %q dlq %q", c.Inbox, c.DLQ)
	}
	if r := c.Retry; r.Attempts != 3 || r.Backoff.D() != 10*time.Millisecond || r.MaxBackoff.D() != 100*time.Millisecond {
		t.Errorf("retry defaults %+v", *r)
	}
	if b := c.Breaker; b.Threshold != 0.4 || b.Window.D() != 5*time.Second || b.Cooldown.D() != 2*time.Second || b.MinCalls != 10 {
		t.Errorf("breaker defaults %+v", *b)
	}
	s.Rescale(10 * time.Second) // 100 s -> 10 s
	if w := s.Consumers.FailDuring[0]; w.At.D() != 5*time.Second || w.For.D() != time.Second {
		t.Errorf("rescaled fail window %+v", w)
	}
	if s.Consumers.Breaker.Cooldown.D() != 2*time.Second {
		t.Error("rescale changed the breaker's cooldown (a handler property)")
	}
	plain, _ := Parse("p.yaml", []byte(base))
	if plain.Consumers.Handling() || plain.Consumers.DLQ != "" {
		t.Errorf("a scenario without handling keys got handling: %+v", plain.Consumers)
	}
}
