package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid scenario; cases edit it with string replacement so every
// line number in the expectations is stable and visible here.
const base = `name: campaign
description: test
events:
  size: {min: 200, max: 2000}
  keys: {count: 100000, distribution: zipf, s: 1.1}
  batch: 1
load:
  start: 200
  stages:
    - {to: 2000, over: 20s}
    - {to: 2000, over: 60s}
    - {to: 200, over: 20s}
consumers:
  projectors: 1
  pause: [{at: 40s, for: 15s}]
  rebuild: end
faults: []
gates: ["commit.p95 < 20ms"]
`

func TestBaseIsValid(t *testing.T) {
	s, err := Parse("campaign.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestParseAndValidateErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string // the exact single error line
	}{
		{"bare number duration", "over: 60s", "over: 60",
			`campaign.yaml:11: load.stages[1].over: "60" has no unit; write 60s`},
		{"yaml syntax", "  batch: 1\n", "  batch: [1\n",
			`campaign.yaml:6: syntax: did not find expected ',' or ']'; fix the YAML there`},
		{"unknown field", "  start: 200\n", "  start: 200\n  strat: 3\n",
			`campaign.yaml:9: load.strat: unknown field "strat" in load; use one of: start, stages, duration, max_in_flight, events, retry, warmup`},
		{"duplicate field", "  batch: 1\n", "  batch: 1\n  batch: 2\n",
			`campaign.yaml:7: events.batch: defined twice (first on line 6); keep one`},
		{"type mismatch", "  start: 200", "  start: fast",
			`campaign.yaml:8: load.start: expected a number, got "fast"; write e.g. 500 or 1.5`},
		{"warmup as long as the load", "  start: 200\n", "  start: 200\n  warmup: 100s\n",
			`campaign.yaml:9: load.warmup: 1m40s is not shorter than the load (1m40s); the warm-up is the first part of the load, so make it shorter, e.g. 10s`},
		{"negative warmup", "  start: 200\n", "  start: 200\n  warmup: -1s\n",
			`campaign.yaml:9: load.warmup: -1s is negative; write e.g. 10s, or remove it for no warm-up`},
		{"negative rate", "  start: 200", "  start: -5",
			`campaign.yaml:8: load.start: -5 is not a rate; write events/s >= 0, e.g. 500`},
		{"negative stage rate", "{to: 200, over: 20s}", "{to: -1, over: 20s}",
			`campaign.yaml:12: load.stages[2].to: -1 is not a rate; write events/s >= 0, e.g. 500`},
		{"zero over", "{to: 200, over: 20s}", "{to: 200, over: 0s}",
			`campaign.yaml:12: load.stages[2].over: 0s must be > 0; write e.g. 30s`},
		{"size min > max", "{min: 200, max: 2000}", "{min: 3000, max: 2000}",
			`campaign.yaml:4: events.size.min: 3000 is larger than max 2000; swap them or raise max`},
		{"size min < 0", "{min: 200, max: 2000}", "{min: -1, max: 2000}",
			`campaign.yaml:4: events.size.min: -1 is negative; write bytes >= 0, e.g. 200`},
		{"zipf s <= 1", "s: 1.1}", "s: 1}",
			`campaign.yaml:5: events.keys.s: 1 is too small; zipf needs s > 1 (e.g. 1.1)`},
		{"hotset hot out of range", "distribution: zipf, s: 1.1}", "distribution: hotset, hot: 1.5, share: 0.8}",
			`campaign.yaml:5: events.keys.hot: 1.5 is outside (0,1); write the fraction of keys that are hot, e.g. 0.01`},
		{"unknown distribution", "distribution: zipf, s: 1.1}", "distribution: pareto}",
			`campaign.yaml:5: events.keys.distribution: unknown distribution "pareto"; use one of: hotset, roundrobin, uniform, zipf`},
		{"key count 0", "count: 100000", "count: 0",
			`campaign.yaml:5: events.keys.count: 0; need at least 1 key, e.g. 10000`},
		{"batch 0", "  batch: 1", "  batch: 0",
			`campaign.yaml:6: events.batch: 0; need at least 1 event per append`},
		{"negative projectors", "  projectors: 1", "  projectors: -1",
			`campaign.yaml:14: consumers.projectors: -1 is negative; write 0 (no projection) or more`},
		{"pause outside run", "{at: 40s, for: 15s}", "{at: 90s, for: 15s}",
			`campaign.yaml:15: consumers.pause[0]: at 1m30s for 15s ends at 1m45s, after the run (1m40s); end it by 1m40s`},
		{"overlapping pauses", "[{at: 40s, for: 15s}]", "[{at: 40s, for: 15s}, {at: 50s, for: 5s}]",
			`campaign.yaml:15: consumers.pause[1]: overlaps pause[0] (40s to 55s); start it at 55s or later, or merge them`},
		{"unknown rebuild mode", "rebuild: end", "rebuild: sometimes",
			`campaign.yaml:16: consumers.rebuild: unknown mode "sometimes"; use none or end`},
		{"bad name", "name: campaign", "name: My Campaign",
			`campaign.yaml:1: name: "My Campaign" may only use a-z, 0-9 and -; write e.g. "my-campaign"`},
		{"fault outside run", "faults: []", "faults:\n  - {at: 90s, for: 20s, path: producer, kind: latency, latency: 50ms}",
			`campaign.yaml:18: faults[0]: at 1m30s for 20s ends at 1m50s, after the run (1m40s); end it by 1m40s`},
		{"fault bad path", "faults: []", "faults:\n  - {at: 10s, for: 20s, path: sideways, kind: partition}",
			`campaign.yaml:18: faults[0].path: "sideways" is not a path; use producer, consumer, both or store`},
		{"missing fixture", "size: {min: 200, max: 2000}", "fixture: nowhere/none.jsonl",
			`campaign.yaml:4: events.fixture: "nowhere/none.jsonl" not found (paths are relative to the scenario's folder or the working directory); fix the path or use events.size instead`},
		{"random below 16", "{min: 200, max: 2000}", "{min: 8, max: 2000}\n  payload: random",
			`campaign.yaml:4: events.size.min: 8 is too small for payload: random (minimum 16 bytes); write 16 or more`},
		{"envelope below floor", "{min: 200, max: 2000}", "{min: 50, max: 2000}",
			`campaign.yaml:4: events.size.min: 50 is below the envelope floor, 83 bytes (the smallest exact PaymentCaptured envelope); write 83 or more, or set events.payload: random for exact sizes down to 16 bytes`},
		{"envelope floor of custom types", "{min: 200, max: 2000}", "{min: 80, max: 2000}\n  types: [A, OrderCancelledLater]",
			`campaign.yaml:4: events.size.min: 80 is below the envelope floor, 87 bytes (the smallest exact OrderCancelledLater envelope); write 87 or more, or set events.payload: random for exact sizes down to 16 bytes`},
		{"unknown payload", "  batch: 1\n", "  batch: 1\n  payload: zeros\n",
			`campaign.yaml:7: events.payload: unknown payload "zeros"; use envelope (realistic JSON) or random (exact-size bytes)`},
		{"random with fixture", "size: {min: 200, max: 2000}", "fixture: orders.jsonl\n  payload: random",
			`campaign.yaml:5: events.payload: random cannot be combined with events.fixture (the fixture's entries are the payloads); remove one of them`},
		{"random_ratio above 1", "  batch: 1\n", "  batch: 1\n  payload: random\n  random_ratio: 1.5\n",
			`campaign.yaml:8: events.random_ratio: 1.5 is outside [0,1]; write the fraction of each payload's bytes that are random, e.g. 1 (incompressible) or 0.25`},
		{"random_ratio negative", "  batch: 1\n", "  batch: 1\n  random_ratio: -0.1\n",
			`campaign.yaml:7: events.random_ratio: -0.1 is outside [0,1]; write the fraction of each payload's bytes that are random, e.g. 1 (incompressible) or 0.25`},
		{"payload_pool 0", "  batch: 1\n", "  batch: 1\n  payload_pool: 0\n",
			`campaign.yaml:7: events.payload_pool: 0; need at least 1 distinct payload (default 1024)`},
		{"payload_pool too many", "  batch: 1\n", "  batch: 1\n  payload_pool: 2000000\n",
			`campaign.yaml:7: events.payload_pool: 2000000 is too big; use at most 1048576 (default 1024)`},
		{"payload_pool too much memory", "  batch: 1\n", "  batch: 1\n  payload_pool: 1000000\n",
			`campaign.yaml:7: events.payload_pool: 1000000 payloads of up to 2000 bytes could hold 1907 MiB; keep payload_pool x size.max <= 1024 MiB, e.g. payload_pool: 536870`},
		{"size max above 1 GiB", "{min: 200, max: 2000}", "{min: 200, max: 9000000000000000000}",
			`campaign.yaml:4: events.size.max: 9000000000000000000 is more than the 1 GiB a payload pool may hold; write a smaller size, e.g. 1048576`},
		{"unknown expect.delivery", "faults: []\n", "faults: []\nexpect: {delivery: once}\n",
			`campaign.yaml:18: expect.delivery: unknown value "once"; use one of: exactly-once, at-least-once`},
		{"unknown expect.order", "faults: []\n", "faults: []\nexpect:\n  order: global\n",
			`campaign.yaml:19: expect.order: unknown value "global"; use one of: per-key, none`},
		{"retry attempts 0", "  start: 200\n", "  start: 200\n  retry: {attempts: 0}\n",
			`campaign.yaml:9: load.retry.attempts: 0; need at least 1 try (1 = no retry), e.g. attempts: 5`},
		{"retry deadline below backoff", "  start: 200\n", "  start: 200\n  retry:\n    backoff: 1s\n    deadline: 500ms\n",
			`campaign.yaml:11: load.retry.deadline: 500ms is shorter than one backoff (1s), so no retry could happen; write at least 1s, e.g. 10s`},
		{"retry max_backoff below backoff", "  start: 200\n", "  start: 200\n  retry: {backoff: 2s, max_backoff: 1s}\n",
			`campaign.yaml:9: load.retry.max_backoff: 1s is below backoff 2s; write at least 2s, e.g. 1s`},
		{"no length", "  stages:\n    - {to: 2000, over: 20s}\n    - {to: 2000, over: 60s}\n    - {to: 200, over: 20s}\n", "",
			`campaign.yaml:7: load.duration: the run has no length; set load.duration (e.g. 60s) or stages with over > 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(base, tc.old, tc.new, 1)
			if in == base {
				t.Fatalf("replacement %q not found", tc.old)
			}
			err := parseAndValidate("campaign.yaml", in)
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			found := false
			for _, l := range lines {
				found = found || l == tc.want
				if !strings.HasPrefix(l, "campaign.yaml:") || strings.Count(l, ": ") < 2 {
					t.Errorf("line not in file:line: field: problem shape: %q", l)
				}
			}
			if !found {
				t.Errorf("got:\n%s\nwant line:\n%s", err, tc.want)
			}
		})
	}
}

func parseAndValidate(name, in string) error {
	s, err := Parse(name, []byte(in))
	if err != nil {
		return err
	}
	return Validate(s, ValidateOptions{})
}

func TestManyProblemsOneLineEach(t *testing.T) {
	in := strings.NewReplacer("start: 200", "start: -5", "rebuild: end", "rebuild: later", "s: 1.1", "s: 0.5").Replace(base)
	err := parseAndValidate("campaign.yaml", in)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", n, err)
	}
}

func TestHooks(t *testing.T) {
	in := strings.Replace(base, "faults: []", "faults:\n  - {at: 10s, for: 20s, path: both, kind: latency, latency: 5}", 1)
	s, err := Parse("campaign.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.Faults[0].Line != 18 || s.Faults[0].Params["latency"] != 5 {
		t.Fatalf("fault line %d params %v", s.Faults[0].Line, s.Faults[0].Params)
	}
	err = Validate(s, ValidateOptions{
		CheckGate: func(expr string) error { return errors.New("unknown metric; use commit.p95") },
		CheckFault: func(f Fault) error {
			return errors.New("latency: 5 has no unit; write 5ms\njitter: missing")
		},
	})
	want := "campaign.yaml:18: faults[0]: latency: 5 has no unit; write 5ms\n" +
		"campaign.yaml:18: faults[0]: jitter: missing\n" +
		"campaign.yaml:19: gates[0]: unknown metric; use commit.p95"
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
	panicky := ValidateOptions{CheckGate: func(string) error { panic("boom") }}
	if err := Validate(s, panicky); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking hook: %v", err)
	}
}

func TestLoadFileAndResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "orders.jsonl"), []byte(`{"type":"A","data":{}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.yaml")
	in := strings.Replace(base, "size: {min: 200, max: 2000}", "fixture: orders.jsonl", 1)
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(path, []string{"load.start=300"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != path || s.Load.Start != 300 || s.Events.Fixture != filepath.Join(dir, "orders.jsonl") {
		t.Fatalf("source %q start %v fixture %q", s.Source, s.Load.Start, s.Events.Fixture)
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}

	_, err = LoadFile(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "missing.yaml")+": cannot read scenario: no such file or directory; check the path") {
		t.Fatalf("missing file: %v", err)
	}
	_, err = Resolve("nope", nil)
	if err == nil || err.Error() != `unknown scenario "nope": not a built-in (`+strings.Join(BuiltinNames(), ", ")+`) and no such file` {
		t.Fatalf("unknown scenario: %v", err)
	}
}

func TestEmptyDocument(t *testing.T) {
	err := parseAndValidate("empty.yaml", "")
	if err == nil || !strings.Contains(err.Error(), "empty.yaml: name: missing; add e.g. name: my-scenario") {
		t.Fatalf("got %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse("d.yaml", []byte("name: d\nload: {start: 10, duration: 5s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Events.Batch != 1 || s.Consumers.Projectors != 1 || s.Consumers.Rebuild != "none" ||
		s.Events.Keys.Distribution != "uniform" || s.Events.Keys.Count != DefaultKeyCount ||
		s.Load.MaxInFlight != 1024 || s.Consumers.Drain.D().Seconds() != 30 ||
		s.Events.Size != (Size{DefaultSizeMin, DefaultSizeMax}) ||
		s.Events.Payload != "envelope" || s.Events.RandomRatio != 1 || s.Events.PayloadPool != 1024 {
		t.Fatalf("defaults not applied: %+v", s)
	}
	s, err = Parse("d.yaml", []byte("name: d\nload: {start: 10, duration: 5s}\nconsumers: {projectors: 0}\nevents: {keys: {distribution: zipf}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Consumers.Projectors != 0 || s.Events.Keys.S != DefaultZipfS {
		t.Fatalf("explicit 0 projectors must stay 0, zipf s default: %+v", s)
	}
}

func TestPayloadKeys(t *testing.T) {
	// The smallest sizes each mode accepts validate.
	for _, edit := range []string{
		"{min: 16, max: 16}\n  payload: random",
		"{min: 83, max: 83}",
		"{min: 16, max: 4000}\n  payload: random\n  random_ratio: 0.25\n  payload_pool: 1",
		"{min: 74, max: 100}\n  types: [Custom]",
	} {
		in := strings.Replace(base, "{min: 200, max: 2000}", edit, 1)
		if err := parseAndValidate("campaign.yaml", in); err != nil {
			t.Errorf("%q: %v", edit, err)
		}
	}
	// An explicit random_ratio: 0 (all-zero payloads) is kept, also through
	// Scenario.Set, which re-encodes the scenario.
	in := strings.Replace(base, "  batch: 1\n", "  batch: 1\n  payload: random\n  random_ratio: 0\n", 1)
	s, err := Parse("campaign.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("load.start", "300"); err != nil {
		t.Fatal(err)
	}
	if s.Events.RandomRatio != 0 || s.Events.Payload != "random" || s.Events.PayloadPool != DefaultPayloadPool {
		t.Fatalf("after Set: %+v", s.Events)
	}
	if err := s.Set("events.random_ratio", "0.5"); err != nil || s.Events.RandomRatio != 0.5 {
		t.Fatalf("--set random_ratio: %v %+v", err, s.Events)
	}
	// CheckPayload is what fixtures.NewPool enforces for Go-built scenarios.
	if is := CheckPayload(Events{Payload: "random", Size: Size{Min: 16, Max: 32}, RandomRatio: 1, PayloadPool: 1}); len(is) != 0 {
		t.Fatalf("valid events: %v", is)
	}
	if is := CheckPayload(Events{Size: Size{Min: 10, Max: 32}, RandomRatio: 1, PayloadPool: 1}); len(is) != 1 || is[0].Path != "events.size.min" {
		t.Fatalf("envelope below floor: %v", is)
	}
	if f, typ := EnvelopeFloor(nil); f > 100 || typ == "" {
		t.Fatalf("the default envelope floor %d (%s) must stay <= 100 bytes (built-ins use 200, runner tests 100)", f, typ)
	}
}

// Declared guarantees and the retry policy default as documented.
func TestExpectAndRetryDefaults(t *testing.T) {
	s, err := Parse("campaign.yaml", []byte(base+"load:\n  start: 1\n  duration: 1s\n  retry: {attempts: 3}\n"))
	if err == nil {
		t.Fatal("a second load key must be rejected")
	}
	s, err = Parse("campaign.yaml", []byte(strings.Replace(base, "  start: 200\n", "  start: 200\n  retry: {attempts: 3}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Expect.Delivery != DeliveryExactlyOnce || s.Expect.Order != OrderPerKey {
		t.Fatalf("expect defaults %+v", s.Expect)
	}
	r := s.Load.Retry
	if r == nil || r.Attempts != 3 || r.Backoff.D() != 100*time.Millisecond || r.MaxBackoff.D() != time.Second || r.Deadline != 0 {
		t.Fatalf("retry defaults %+v", r)
	}
	for attempt := 1; attempt <= 6; attempt++ {
		full := min(100*time.Millisecond<<(attempt-1), time.Second)
		if w := r.Wait(attempt); w < full/2 || w > full {
			t.Fatalf("Wait(%d) = %v, want within [%v, %v]", attempt, w, full/2, full)
		}
	}
}
