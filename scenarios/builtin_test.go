package scenarios

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// gateMetrics are the metric names built-ins may use (the lead's gate list).
var gateRe = regexp.MustCompile(`^(commit|e2e|service_time)\.(p50|p90|p95|p99|p999|max)|catch_up\.max|rebuild\.events_per_sec|delivery\.(lost|duplicated|reordered|unexpected)|events\.failed_rate|achieved_rate|lag\.max|rpo\.events|rto\.(append|projection)\.max|outbox\.relay_lag\.(p99|max)|schema\.(unreadable|canary_unreadable|upcast_ns\.mean)|concurrency\.(conflicts|conflict_rate|retries_per_command)|consumers\.(duplicates_applied|not_applied|unaccounted|dlq|retries|breaker_open_s)`)

func TestBuiltinsValidate(t *testing.T) {
	names := BuiltinNames()
	for _, want := range []string{"burst", "campaign", "catch-up", "crash", "power-loss", "rebuild", "soak"} {
		if !isBuiltin(want) {
			t.Errorf("built-in %q missing from %v", want, names)
		}
	}
	all := Builtins()
	if len(all) != len(names) {
		t.Fatalf("%d of %d built-ins parse", len(all), len(names))
	}
	for i, s := range all {
		if s.Name != names[i] {
			t.Errorf("file %s.yaml declares name %q", names[i], s.Name)
		}
		if s.Description == "" || strings.Contains(strings.TrimSpace(s.Description), "\n") {
			t.Errorf("%s: description must be one line: %q", s.Name, s.Description)
		}
		if err := Validate(s, ValidateOptions{}); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		for _, g := range s.Gates {
			if !gateRe.MatchString(g) {
				t.Errorf("%s: gate %q uses a metric outside the agreed list", s.Name, g)
			}
		}
		// Every built-in must stay valid as a 10 s smoke run.
		s.Rescale(10 * time.Second)
		if err := Validate(s, ValidateOptions{}); err != nil {
			t.Errorf("%s rescaled to 10s: %v", s.Name, err)
		}
		if s.Source != "builtin:"+names[i] {
			t.Errorf("source %q", s.Source)
		}
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "burst") {
		t.Errorf("unknown built-in: %v", err)
	}
}

func TestBuiltinsAreFreshCopies(t *testing.T) {
	a, _ := Builtin("burst")
	a.Load.Start = 1
	b, _ := Builtin("burst")
	if b.Load.Start == 1 {
		t.Fatal("Builtin returned shared state")
	}
}
