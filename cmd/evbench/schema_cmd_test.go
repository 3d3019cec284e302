package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/evbench/evbench/chaos"
)

// TestSchemaCommand: `evbench schema` prints the schema on stdout, with
// properties.load the object itself (what `jq .properties.load` shows)
// and the chaos package's fault kinds in the kind enum.
func TestSchemaCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "schema")
	if code != exitOK {
		t.Fatalf("exit %d; stderr: %s", code, stderr)
	}
	var s struct {
		Schema     string `json:"$schema"`
		Properties struct {
			Load struct {
				Properties map[string]any `json:"properties"`
			} `json:"load"`
			Faults struct {
				Items struct {
					Properties struct {
						Kind struct {
							Enum []string `json:"enum"`
						} `json:"kind"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"faults"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if s.Schema == "" {
		t.Error("no $schema")
	}
	for _, k := range []string{"start", "stages", "duration", "retry"} {
		if s.Properties.Load.Properties[k] == nil {
			t.Errorf("properties.load.properties lacks %s", k)
		}
	}
	kinds := s.Properties.Faults.Items.Properties.Kind.Enum
	for _, k := range append(chaos.Kinds(), chaos.StoreKinds()...) {
		if !slices.Contains(kinds, k) {
			t.Errorf("fault kind %s missing from the schema's enum %v", k, kinds)
		}
	}
	if code, _, _ := runCLI(t, "schema", "extra"); code != exitUsage {
		t.Errorf("schema with an argument: exit %d, want %d", code, exitUsage)
	}
}
