package chaos

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/scenarios"
)

func TestConsumerRestartValidate(t *testing.T) {
	ok := scenarios.Fault{Kind: scenarios.KindConsumerRestart, Params: map[string]any{"projector": 1}}
	if err := Validate(ok); err != nil {
		t.Fatalf("valid consumer-restart refused: %v", err)
	}
	tox := 0.5
	for _, tc := range []struct {
		name string
		f    scenarios.Fault
		want string
	}{
		{"unknown parameter", scenarios.Fault{Kind: scenarios.KindConsumerRestart, Params: map[string]any{"latency": "5ms"}}, "latency: unknown parameter for kind consumer-restart (known: projector)"},
		{"negative projector", scenarios.Fault{Kind: scenarios.KindConsumerRestart, Params: map[string]any{"projector": -1}}, "projector: -1 must be a whole number >= 0"},
		{"negative for", scenarios.Fault{Kind: scenarios.KindConsumerRestart, For: -1}, "for:"},
		{"toxicity", scenarios.Fault{Kind: scenarios.KindConsumerRestart, Toxicity: &tox}, "toxicity: not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestConsumerFaultsAreNotNetworkFaults: the runner carries consumer-restart
// out itself, so it must never reach the proxies (which would refuse the
// unknown kind) nor make an in-process driver's scenario "unreachable".
func TestConsumerFaultsAreNotNetworkFaults(t *testing.T) {
	faults := []scenarios.Fault{{Kind: "latency", Path: PathConsumer}, {Kind: scenarios.KindConsumerRestart}, {Kind: "kill", Path: PathStore}}
	if n := NetworkFaults(faults); len(n) != 1 || n[0].Kind != "latency" {
		t.Errorf("NetworkFaults = %+v, want only the latency fault", n)
	}
	if c := ConsumerFaults(faults); len(c) != 1 || c[0].Kind != scenarios.KindConsumerRestart {
		t.Errorf("ConsumerFaults = %+v", c)
	}
}
