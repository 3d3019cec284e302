package scenarios_test

// An external test package: the schema and the loader are checked with the
// chaos package's fault kinds and hook, and chaos imports scenarios.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/scenarios"
	"github.com/evbench/evbench/scenarios/internal/gencomments"
)

func schemaBytes(t *testing.T) []byte {
	t.Helper()
	b, err := scenarios.JSONSchema(scenarios.JSONSchemaOptions{FaultKinds: chaos.Kinds(), StoreFaultKinds: chaos.StoreKinds()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compileSchema compiles the generated schema with an independent
// validator, so a schema the library emits but a validator cannot use
// fails here rather than in a user's editor.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaBytes(t)))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("evbench.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("evbench.schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

// yamlToJSON converts a YAML document into the JSON value a YAML language
// server validates against the schema.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("YAML: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML to JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// loaderErr is what `evbench validate` does to a file: strict parse, then
// Validate with the CLI's hooks.
func loaderErr(name string, data []byte) error {
	s, err := scenarios.Parse(name, data)
	if err != nil {
		return err
	}
	return scenarios.Validate(s, scenarios.ValidateOptions{CheckGate: gate.Check, CheckFault: chaos.Validate})
}

// control is a valid scenario: the corpus files are small edits of it, so
// each one fails for its own reason, not for lacking something else.
const control = `name: bad
load: {start: 100, duration: 10s}
`

func TestJSONSchemaControlValid(t *testing.T) {
	sch := compileSchema(t)
	if err := loaderErr("control.yaml", []byte(control)); err != nil {
		t.Fatalf("loader rejects the control: %v", err)
	}
	if err := sch.Validate(yamlToJSON(t, []byte(control))); err != nil {
		t.Fatalf("schema rejects the control: %v", err)
	}
}

// TestJSONSchemaBuiltinsValid: every built-in scenario, as written in its
// file, passes the schema (what an editor shows for a copy of it).
func TestJSONSchemaBuiltinsValid(t *testing.T) {
	sch := compileSchema(t)
	names := scenarios.BuiltinNames()
	if len(names) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("builtin", n+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("built-in %s fails the schema: %v", n, err)
		}
	}
}

// TestJSONSchemaRejectsBadCorpus: each file of testdata/schema-bad must be
// refused by BOTH the loader and the schema, so the two agree on every
// mistake the schema claims to catch. The first line of each file says
// what is wrong.
//
// Not in the corpus, because the schema cannot express them (the loader
// relates several fields or looks beyond the file) or deliberately leaves
// them to the loader:
//   - load.stages together with load.duration; start 0 with no stages; a
//     run with no length; warmup not shorter than the load;
//   - events.size.min > max, the envelope floor and the 16-byte random
//     minimum (both depend on events.payload and the types), payload_pool
//     x size.max <= 1 GiB, payload: random with a fixture, a fixture file
//     that does not exist;
//   - keys.s > 1 for zipf, hot and share in (0,1) for hotset (ignored for
//     other distributions);
//   - pauses and faults inside the run, pauses not overlapping, pauses
//     without a projector;
//   - retry.max_backoff >= backoff, retry.deadline >= backoff;
//   - durations that must be > 0 (stage over, pause for, drain, backoff):
//     zero has many spellings (0, 0s, 0ms, 0.0h) and the schema's duration
//     type is shared, so only negative durations are refused;
//   - a fault kind's own parameters (unknown or invalid ones), which sit
//     inline beside the common keys and are checked by the chaos package;
//     the schema allows any extra key on a fault;
//   - gate expression syntax (the gate parser), duplicate keys (lost in
//     the YAML to JSON conversion) and explicit nulls (the loader treats
//     them as absent; the schema refuses them).
func TestJSONSchemaRejectsBadCorpus(t *testing.T) {
	sch := compileSchema(t)
	files, err := filepath.Glob(filepath.Join("testdata", "schema-bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d bad files; the corpus needs at least 10", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			why, _, _ := strings.Cut(string(data), "\n")
			if lerr := loaderErr(filepath.Base(f), data); lerr == nil {
				t.Errorf("%s: the loader accepts it", why)
			}
			if serr := sch.Validate(yamlToJSON(t, data)); serr == nil {
				t.Errorf("%s: the schema accepts it", why)
			}
		})
	}
}

// TestJSONSchemaAcceptsLoaderForms: spellings the loader accepts must not
// be flagged by the schema either.
func TestJSONSchemaAcceptsLoaderForms(t *testing.T) {
	sch := compileSchema(t)
	cases := map[string]string{
		"fault params inline": "faults:\n  - {at: 1s, for: 2s, path: producer, kind: latency, latency: 5ms, jitter: 1ms}\n",
		"bare zero duration":  "faults:\n  - {at: 0, for: 1s, path: consumer, kind: partition}\n",
		"store fault":         "faults:\n  - {at: 1s, path: store, kind: kill, restart_after: 2s}\n",
		"compound duration":   "consumers: {drain: 1m30s}\n",
		"retry policy":        "load: {start: 100, duration: 10s, retry: {attempts: 3, backoff: 250ms, max_backoff: 1s, deadline: 5s}}\n",
		"expect":              "expect: {delivery: at-least-once, order: none}\n",
	}
	for name, extra := range cases {
		doc := control + extra
		if strings.HasPrefix(extra, "load:") {
			doc = "name: bad\n" + extra
		}
		if err := loaderErr(name, []byte(doc)); err != nil {
			t.Errorf("%s: the loader rejects it (fix the case): %v", name, err)
			continue
		}
		if err := sch.Validate(yamlToJSON(t, []byte(doc))); err != nil {
			t.Errorf("%s: the schema rejects what the loader accepts: %v", name, err)
		}
	}
}

// TestJSONSchemaDurationPattern checks the duration pattern against
// ParseDuration itself: both must agree on every sample except negative
// values, which ParseDuration parses but Validate refuses everywhere.
func TestJSONSchemaDurationPattern(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(schemaBytes(t), &s); err != nil {
		t.Fatal(err)
	}
	over := dig(t, s, "properties", "load", "properties", "stages", "items", "properties", "over")
	pat := dig(t, over, "anyOf").([]any)[0].(map[string]any)["pattern"].(string)
	re := regexp.MustCompile(pat)
	for _, d := range []string{"250ms", "1m30s", "20s", "1.5h", ".5s", "0", "0s", "+3s", "1h2m3s4ms5us6ns", "2µs",
		"60", "1.5", "-5s", "5 s", "ms", "s", "1d", "", "forever", "1m30"} {
		_, err := scenarios.ParseDuration(d)
		loader := err == nil && !strings.HasPrefix(d, "-")
		if got := re.MatchString(d); got != loader {
			t.Errorf("%q: pattern matches %v, loader accepts %v", d, got, loader)
		}
	}
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok || m[p] == nil {
			t.Fatalf("schema has no %s", strings.Join(path, "."))
		}
		v = m[p]
	}
	return v
}

// TestJSONSchemaShape pins the parts others rely on: draft 2020-12,
// properties.load is the object itself (`jq .properties.load`), strict
// objects but an open fault, and defaults equal to the Default constants.
func TestJSONSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(schemaBytes(t), &s); err != nil {
		t.Fatal(err)
	}
	if got := s["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", got)
	}
	if _, ok := dig(t, s, "properties", "load", "properties").(map[string]any)["start"]; !ok {
		t.Error("properties.load lacks start: is it a $ref?")
	}
	for _, p := range [][]string{{}, {"properties", "load"}, {"properties", "events", "properties", "keys"}, {"properties", "expect"}} {
		obj := s
		if len(p) > 0 {
			obj = dig(t, s, p...).(map[string]any)
		}
		if obj["additionalProperties"] != false {
			t.Errorf("%v: additionalProperties = %v, want false (the loader is strict)", p, obj["additionalProperties"])
		}
	}
	fault := dig(t, s, "properties", "faults", "items").(map[string]any)
	if ap, set := fault["additionalProperties"]; set && ap != true {
		t.Errorf("faults[]: additionalProperties = %v; kind params must be allowed", ap)
	}
	defaults := []struct {
		path []string
		want any
	}{
		{[]string{"load", "max_in_flight"}, float64(scenarios.DefaultMaxInFlight)},
		{[]string{"consumers", "drain"}, scenarios.DefaultDrain.String()},
		{[]string{"consumers", "rebuild"}, scenarios.DefaultRebuild},
		{[]string{"events", "batch"}, float64(scenarios.DefaultBatch)},
		{[]string{"events", "keys", "count"}, float64(scenarios.DefaultKeyCount)},
		{[]string{"events", "keys", "s"}, scenarios.DefaultZipfS},
		{[]string{"events", "keys", "share"}, scenarios.DefaultShare},
		{[]string{"events", "size", "max"}, float64(scenarios.DefaultSizeMax)},
		{[]string{"load", "retry", "attempts"}, float64(scenarios.DefaultRetryAttempts)},
		{[]string{"load", "retry", "backoff"}, scenarios.DefaultRetryBackoff.String()},
		{[]string{"expect", "delivery"}, scenarios.DeliveryExactlyOnce},
	}
	for _, d := range defaults {
		var p []string
		for _, k := range d.path {
			p = append(p, "properties", k)
		}
		if got := dig(t, s, p...).(map[string]any)["default"]; got != d.want {
			t.Errorf("%s default = %v, want %v", strings.Join(d.path, "."), got, d.want)
		}
	}
	if desc, _ := dig(t, s, "properties", "consumers", "properties", "drain").(map[string]any)["description"].(string); !strings.Contains(desc, "Drain is how long") {
		t.Errorf("consumers.drain description %q is not its Go doc comment", desc)
	}
}

// TestJSONSchemaCommentsFresh regenerates the comment file from the source
// and fails when the embedded one differs.
func TestJSONSchemaCommentsFresh(t *testing.T) {
	want, err := gencomments.Generate(".", "github.com/evbench/evbench/scenarios", "Scenario")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("jsonschema_comments.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("jsonschema_comments.json is stale (a doc comment of the scenario types changed): run go generate ./scenarios")
	}
}
