package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestOverrides(t *testing.T) {
	cases := []struct {
		sets  []string
		check func(s *Scenario) bool
	}{
		{[]string{"load.start=50000"}, func(s *Scenario) bool { return s.Load.Start == 50000 }},
		{[]string{"load.stages=[]", "load.duration=10s", "consumers.pause=[]"}, func(s *Scenario) bool {
			return len(s.Load.Stages) == 0 && s.TotalDuration() == 10*time.Second
		}},
		{[]string{"events.keys.distribution=uniform"}, func(s *Scenario) bool { return s.Events.Keys.Distribution == "uniform" }},
		{[]string{"load.stages[0].to=100"}, func(s *Scenario) bool { return s.Load.Stages[0].To == 100 && s.Load.Stages[1].To == 2000 }},
		{[]string{"consumers.pause=[{at: 5s, for: 2s}]"}, func(s *Scenario) bool {
			return len(s.Consumers.Pause) == 1 && s.Consumers.Pause[0].At.D() == 5*time.Second
		}},
		{[]string{"steady_state.window=5s"}, func(s *Scenario) bool { return s.SteadyState.Window.D() == 5*time.Second }},
		{[]string{"faults=[{at: 1s, for: 2s, path: both, kind: latency, latency: 10ms}]", "faults[0].latency=20ms"}, func(s *Scenario) bool {
			return s.Faults[0].Params["latency"] == "20ms"
		}},
	}
	for _, tc := range cases {
		s, err := ParseWithOverrides("campaign.yaml", []byte(base), tc.sets)
		if err != nil {
			t.Fatalf("%v: %v", tc.sets, err)
		}
		if !tc.check(s) {
			t.Errorf("%v: not applied: %+v", tc.sets, s)
		}
		if err := Validate(s, ValidateOptions{}); err != nil {
			t.Errorf("%v: %v", tc.sets, err)
		}
	}
}

func TestOverrideErrors(t *testing.T) {
	cases := []struct{ set, want string }{
		{"load.strat=1", `--set load.strat=1: unknown field "strat" in load (known: start, stages, duration, max_in_flight, events, retry, warmup)`},
		{"lod.start=1", `--set lod.start=1: unknown field "lod" in scenario (known: name, description, events, load, consumers, faults, steady_state, gates, expect, outbox)`},
		{"load.stages[7].to=1", `--set load.stages[7].to=1: index 7 out of range: load.stages has 3 entries; use [0] to [2], or set the whole list`},
		{"load.start", `--set load.start: missing "="; write --set key=value, e.g. --set load.start=500`},
		{"load.start[0]=1", `--set load.start[0]=1: load.start is not a list; drop the [0]`},
		{"load.start.x=1", `--set load.start.x=1: load.start is a value, not a mapping; write --set load.start=...`},
		{"load.stages[x].to=1", `--set load.stages[x].to=1: index "x" in "load.stages[x].to" is not a number >= 0; write e.g. [0]`},
		{"name=[", `--set name=[: value is not valid YAML (yaml: line 1: did not find expected node content); quote it`},
	}
	for _, tc := range cases {
		_, err := ParseWithOverrides("campaign.yaml", []byte(base), []string{tc.set})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.set, err, tc.want)
		}
	}
	// A type error in an override is caught by the same strict decoding.
	_, err := ParseWithOverrides("campaign.yaml", []byte(base), []string{"load.stages[1].over=60"})
	if err == nil || err.Error() != `campaign.yaml:11: load.stages[1].over: "60" has no unit; write 60s` {
		t.Errorf("bare duration via --set: %v", err)
	}
}

func TestScenarioSet(t *testing.T) {
	s, err := Builtin("campaign")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("load.start", "123"); err != nil || s.Load.Start != 123 {
		t.Fatalf("Set: %v start %v", err, s.Load.Start)
	}
	if s.Source != "builtin:campaign" || s.File() != "campaign.yaml" {
		t.Fatalf("Set lost provenance: %q %q", s.Source, s.File())
	}
	before := *s
	if err := s.Set("load.strat", "1"); err == nil || !strings.Contains(err.Error(), `unknown field "strat" in load`) {
		t.Fatalf("bad path: %v", err)
	}
	if s.Load.Start != before.Load.Start {
		t.Fatal("failed Set changed the scenario")
	}
	if err := s.Set("events.keys.s", "0.5"); err != nil {
		t.Fatal(err)
	}
	err = Validate(s, ValidateOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "campaign.yaml:5: events.keys.s: 0.5 is too small") {
		t.Fatalf("validate after Set: %v", err)
	}
}
