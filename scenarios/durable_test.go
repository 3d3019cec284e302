package scenarios

import (
	"strings"
	"testing"
	"time"
)

const durableBase = `name: resume
events: {keys: {count: 10}}
load: {start: 100, duration: 10s}
consumers: {projectors: 2, durable: {}}
faults: [{at: 2s, kind: consumer-restart, projector: 1}]
expect: {delivery: at-least-once}
`

func TestDurableDefaultsAndValid(t *testing.T) {
	s, err := Parse("resume.yaml", []byte(durableBase))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatalf("valid durable scenario refused: %v", err)
	}
	d := s.Consumers.Durable
	if d.CommitEvery != DefaultCommitEvery || d.CommitInterval.D() != time.Second || d.Group != "" {
		t.Errorf("defaults: %+v", d)
	}
	if n, ok := RestartProjector(s.Faults[0]); !ok || n != 1 {
		t.Errorf("RestartProjector = %d, %v; want 1", n, ok)
	}
	z, err := Parse("zero.yaml", []byte(strings.Replace(durableBase, "durable: {}", "durable: {commit_every: 0, commit_interval: 0s}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if d := z.Consumers.Durable; d.CommitEvery != 0 || d.CommitInterval != 0 {
		t.Errorf("explicit zeros (commit after every batch) replaced by defaults: %+v", d)
	}
}

// TestDurableBadInput: every mistake is one line naming the field and the fix.
func TestDurableBadInput(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"restart without durable", "durable: {}", "", "add consumers.durable"},
		{"exactly-once with restart", "expect: {delivery: at-least-once}", "", "declare expect: {delivery: at-least-once}"},
		{"projector out of range", "projector: 1", "projector: 2", "faults[0].projector: 2, but the scenario runs 2 projector(s)"},
		{"projector not a number", "projector: 1", "projector: first", "faults[0].projector"},
		{"network path", "kind: consumer-restart", "kind: consumer-restart, path: producer", "faults[0].path"},
		{"bad group", "durable: {}", "durable: {group: a.b}", "consumers.durable.group"},
		{"negative commit_every", "durable: {}", "durable: {commit_every: -1}", "consumers.durable.commit_every"},
		{"negative commit_interval", "durable: {}", "durable: {commit_interval: -1s}", "consumers.durable.commit_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("resume.yaml", []byte(strings.Replace(durableBase, tc.from, tc.to, 1)))
			if err == nil {
				err = Validate(s, ValidateOptions{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.Contains(line, tc.want) && !strings.HasPrefix(line, "resume.yaml:") {
					t.Errorf("error line %q does not name the file", line)
				}
			}
		})
	}
}
