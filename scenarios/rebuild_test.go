package scenarios

import (
	"strings"
	"testing"
	"time"
)

func rebuildScenario(consumers string) string {
	return "name: rb\nevents: {size: {min: 100, max: 200}, keys: {count: 10}}\nload: {start: 100, duration: 20s}\nconsumers: " + consumers + "\n"
}

func TestValidateRebuildModes(t *testing.T) {
	cases := []struct {
		consumers string
		want      string // "" = valid
	}{
		{`{projectors: 1, rebuild: end, projection_cost: 20us, rebuild_workers: [1, 2], snapshot: {at: 50%}}`, ""},
		{`{projectors: 1, rebuild: end, snapshot: {at: 5s}}`, ""},
		{`{projectors: 1, rebuild: end, snapshot: {every: 5000}}`, ""},
		{`{projectors: 1, rebuild: end, rebuild_workers: [0]}`, "consumers.rebuild_workers[0]: 0 workers is out of range"},
		{`{projectors: 1, rebuild: end, rebuild_workers: [2, 2]}`, "consumers.rebuild_workers[1]: 2 is listed twice"},
		{`{projectors: 1, rebuild: end, projection_cost: 2s}`, "consumers.projection_cost: 2s is out of range"},
		{`{projectors: 1, rebuild: end, snapshot: {at: 50%, every: 5000}}`, "consumers.snapshot: set at or every, not both"},
		{`{projectors: 1, rebuild: end, snapshot: {}}`, "consumers.snapshot: says nothing"},
		{`{projectors: 1, rebuild: end, snapshot: {every: 10}}`, "consumers.snapshot.every: 10 is below 1000"},
		{`{projectors: 1, rebuild: end, snapshot: {at: 100%}}`, `consumers.snapshot.at: "100%" is not a percentage`},
		{`{projectors: 1, rebuild: end, snapshot: {at: half%}}`, `consumers.snapshot.at: "half%" is not a percentage`},
		{`{projectors: 1, rebuild: end, snapshot: {at: 30s}}`, `consumers.snapshot.at: "30s" is not a time inside the load`},
		{`{projectors: 1, rebuild: end, snapshot: {at: soon}}`, `consumers.snapshot.at: "soon" is not a time inside the load`},
		{`{projectors: 1, rebuild_workers: [1, 2]}`, "consumers.rebuild: projection_cost, rebuild_workers and snapshot compare rebuilds at the end; set consumers.rebuild: end"},
	}
	for _, c := range cases {
		t.Run(c.consumers, func(t *testing.T) {
			sc, err := Parse("rb.yaml", []byte(rebuildScenario(c.consumers)))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = Validate(sc, ValidateOptions{})
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestRebuildModesDefaultsAndRescale(t *testing.T) {
	sc, err := Parse("rb.yaml", []byte(rebuildScenario(`{projectors: 1, rebuild: end, snapshot: {at: 5s}}`)))
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Consumers
	if !c.RebuildModes() || len(c.Workers()) != 1 || c.Workers()[0] != 1 {
		t.Fatalf("modes %v, workers %v: want on, default [1]", c.RebuildModes(), c.Workers())
	}
	sc.Rescale(40 * time.Second)
	if d, ok := sc.Consumers.Snapshot.Time(); !ok || d != 10*time.Second {
		t.Fatalf("snapshot.at after --duration 40s = %v, want 10s", sc.Consumers.Snapshot.At)
	}
	off, err := Parse("rb.yaml", []byte(rebuildScenario(`{projectors: 1, rebuild: end}`)))
	if err != nil {
		t.Fatal(err)
	}
	if off.Consumers.RebuildModes() {
		t.Fatal("a plain rebuild: end must not run the comparison")
	}
}
