package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

func TestKindsListsEveryKind(t *testing.T) {
	want := "bandwidth,down,latency,partition,reset,slicer,timeout"
	if got := strings.Join(Kinds(), ","); got != want {
		t.Fatalf("Kinds() = %s, want %s", got, want)
	}
}

func TestValidate(t *testing.T) {
	tox := func(v float64) *float64 { return &v }
	type P = map[string]any
	cases := []struct {
		name string
		f    scenarios.Fault
		want string // "" = valid; else a substring of the error
	}{
		{"latency ok", fault("latency", "producer", "0s", "1s", P{"latency": "50ms", "jitter": "10ms"}), ""},
		{"latency both streams", fault("latency", "consumer", "0s", "1s", P{"latency": "5ms", "stream": "both"}), ""},
		{"latency no unit int", fault("latency", "producer", "0s", "1s", P{"latency": 50}), `latency: "50" has no unit; write 50ms`},
		{"latency no unit string", fault("latency", "producer", "0s", "1s", P{"latency": "50"}), `latency: "50" has no unit; write 50ms`},
		{"latency missing", fault("latency", "producer", "0s", "1s", nil), "latency: missing"},
		{"latency negative", fault("latency", "producer", "0s", "1s", P{"latency": "-5ms"}), "latency: -5ms is negative"},
		{"latency garbage", fault("latency", "producer", "0s", "1s", P{"latency": "fast"}), `latency: "fast" is not a duration`},
		{"jitter > latency", fault("latency", "producer", "0s", "1s", P{"latency": "5ms", "jitter": "10ms"}), "jitter: 10ms exceeds latency"},
		{"unknown param", fault("latency", "producer", "0s", "1s", P{"latency": "5ms", "jiter": "1ms"}), "jiter: unknown parameter for kind latency (known: jitter, latency, stream)"},
		{"bad stream", fault("latency", "producer", "0s", "1s", P{"latency": "5ms", "stream": "sideways"}), `stream: unknown stream "sideways"`},
		{"bandwidth number", fault("bandwidth", "consumer", "0s", "1s", P{"rate": 512}), ""},
		{"bandwidth unit", fault("bandwidth", "consumer", "0s", "1s", P{"rate": "3MB/s"}), ""},
		{"bandwidth missing", fault("bandwidth", "consumer", "0s", "1s", nil), "rate: missing"},
		{"bandwidth zero", fault("bandwidth", "consumer", "0s", "1s", P{"rate": 0}), "rate: 0 KB/s must be a whole number >= 1"},
		{"bandwidth bad unit", fault("bandwidth", "consumer", "0s", "1s", P{"rate": "fast"}), `rate: "fast" is not a rate`},
		{"partition ok", fault("partition", "both", "10s", "20s", nil), ""},
		{"partition with param", fault("partition", "both", "0s", "1s", P{"timeout": "1s"}), "timeout: unknown parameter for kind partition (known: none)"},
		{"reset ok", scenarios.Fault{Kind: "reset", Path: "both", At: dur("1s"), For: dur("1s"), Toxicity: tox(0.3)}, ""},
		{"reset delay", fault("reset", "producer", "0s", "1s", P{"timeout": "100ms"}), ""},
		{"slicer defaults", fault("slicer", "consumer", "0s", "1s", nil), ""},
		{"slicer params", fault("slicer", "consumer", "0s", "1s", P{"average_size": 100, "size_variation": 10, "delay": "50us"}), ""},
		{"slicer variation", fault("slicer", "consumer", "0s", "1s", P{"average_size": 10, "size_variation": 10}), "size_variation: 10 must be smaller than average_size 10"},
		{"slicer fraction", fault("slicer", "consumer", "0s", "1s", P{"average_size": 1.5}), "average_size: 1.5 must be a whole number >= 1"},
		{"timeout ok", fault("timeout", "consumer", "0s", "5s", P{"timeout": "2s"}), ""},
		{"timeout missing", fault("timeout", "consumer", "0s", "5s", nil), "timeout: missing"},
		{"timeout zero", fault("timeout", "consumer", "0s", "5s", P{"timeout": "0s"}), "timeout: must be > 0"},
		{"down ok", fault("down", "producer", "0s", "5s", nil), ""},
		{"down toxicity", scenarios.Fault{Kind: "down", Path: "producer", For: dur("1s"), Toxicity: tox(0.5)}, "toxicity: not supported by kind down"},
		{"toxicity > 1", scenarios.Fault{Kind: "latency", Path: "producer", For: dur("1s"), Toxicity: tox(1.5), Params: P{"latency": "1ms"}}, "toxicity: 1.5 is outside 0..1"},
		{"toxicity < 0", scenarios.Fault{Kind: "latency", Path: "producer", For: dur("1s"), Toxicity: tox(-0.1), Params: P{"latency": "1ms"}}, "toxicity: -0.1 is outside 0..1"},
		{"unknown kind", fault("partiton", "both", "0s", "1s", nil), `kind: unknown fault kind "partiton" (known: bandwidth, down, latency, partition, reset, slicer, timeout)`},
		{"missing kind", fault("", "both", "0s", "1s", nil), "kind: missing"},
		{"missing path", fault("partition", "", "0s", "1s", nil), "path: missing; write producer, consumer or both"},
		{"bad path", fault("partition", "projector", "0s", "1s", nil), `path: unknown path "projector"`},
		{"negative at", scenarios.Fault{Kind: "down", Path: "both", At: scenarios.Duration(-time.Second), For: dur("1s")}, "at: -1s is negative"},
		{"zero for", fault("down", "both", "0s", "0s", nil), "for: 0s must be > 0"},
		{"negative for", scenarios.Fault{Kind: "down", Path: "both", For: scenarios.Duration(-time.Second)}, "for: -1s must be > 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.f)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestValidateTimelineRejectsFaultPastTheRun(t *testing.T) {
	faults := []scenarios.Fault{
		fault("partition", "consumer", "10s", "20s", nil),
		fault("down", "producer", "50s", "20s", nil),
	}
	if err := ValidateTimeline(faults[:1], time.Minute); err != nil {
		t.Fatalf("fault within the run rejected: %v", err)
	}
	err := ValidateTimeline(faults, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "faults[1]: for: ends at 1m10s, after the run's 1m0s") {
		t.Fatalf("ValidateTimeline = %v", err)
	}
}

func TestEffectsUseToxiproxyAttributes(t *testing.T) {
	cases := []struct {
		f     scenarios.Fault
		typ   string
		key   string
		value any
		n     int
	}{
		{fault("latency", "producer", "0s", "1s", map[string]any{"latency": "50ms", "jitter": "500us"}), "latency", "jitter", int64(1), 1},
		{fault("bandwidth", "consumer", "0s", "1s", map[string]any{"rate": "2MB/s"}), "bandwidth", "rate", int64(2048), 1},
		{fault("partition", "both", "0s", "1s", nil), "timeout", "timeout", 0, 2},
		{fault("timeout", "both", "0s", "1s", map[string]any{"timeout": "2s"}), "timeout", "timeout", int64(2000), 2},
		{fault("reset", "both", "0s", "1s", nil), "reset_peer", "timeout", int64(0), 1},
		{fault("slicer", "both", "0s", "1s", map[string]any{"delay": "1ms"}), "slicer", "delay", int64(1000), 1},
	}
	for _, tc := range cases {
		eff, err := compile(tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.f.Kind, err)
		}
		if len(eff.toxics) != tc.n {
			t.Fatalf("%s: %d toxics, want %d", tc.f.Kind, len(eff.toxics), tc.n)
		}
		tx := eff.toxics[0]
		if tx.Type != tc.typ || tx.Attributes[tc.key] != tc.value || tx.Toxicity != 1 {
			t.Errorf("%s: toxic %+v, want type %s with %s=%v toxicity 1", tc.f.Kind, tx, tc.typ, tc.key, tc.value)
		}
	}
	if eff, _ := compile(fault("down", "both", "0s", "1s", nil)); !eff.down || len(eff.toxics) != 0 {
		t.Errorf("down effect = %+v, want down without toxics", eff)
	}
}
