package scenarios

import (
	"testing"
	"time"
)

func TestRescale(t *testing.T) {
	s, err := Parse("c.yaml", []byte(base+"steady_state: {window: 10s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.Faults = []Fault{{At: Duration(50 * time.Second), For: Duration(50 * time.Second), Path: "both", Kind: "latency"}}
	if got := s.TotalDuration(); got != 100*time.Second {
		t.Fatalf("total %v", got)
	}
	s.Rescale(10 * time.Second)
	if got := s.TotalDuration(); got != 10*time.Second {
		t.Fatalf("rescaled total %v", got)
	}
	want := []time.Duration{2 * time.Second, 6 * time.Second, 2 * time.Second}
	for i, st := range s.Load.Stages {
		if st.Over.D() != want[i] {
			t.Errorf("stage %d over %v, want %v", i, st.Over, want[i])
		}
	}
	if p := s.Consumers.Pause[0]; p.At.D() != 4*time.Second || p.For.D() != 1500*time.Millisecond {
		t.Errorf("pause %v+%v", p.At, p.For)
	}
	if f := s.Faults[0]; f.At.D() != 5*time.Second || f.For.D() != 5*time.Second {
		t.Errorf("fault %v+%v", f.At, f.For)
	}
	if s.SteadyState.Window.D() != time.Second {
		t.Errorf("window %v", s.SteadyState.Window)
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Awkward factors: windows never end past the run because of rounding.
	s.Rescale(7 * time.Second / 3)
	if s.TotalDuration() != 7*time.Second/3 {
		t.Fatalf("total %v", s.TotalDuration())
	}
	if err := Validate(s, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}

	// No stages: load.duration becomes d.
	c, _ := Builtin("catch-up")
	c.Rescale(10 * time.Second)
	if c.Load.Duration.D() != 10*time.Second || c.Consumers.Pause[0].At.D() != 3333*time.Millisecond {
		t.Fatalf("catch-up rescaled: %v pause %v (want 10s, pause at 3.333s: rounded to the ms)", c.Load.Duration, c.Consumers.Pause[0])
	}

	// A constant rate with no length takes --duration as its length.
	z := &Scenario{Load: Load{Start: 100}}
	z.Rescale(5 * time.Second)
	if z.TotalDuration() != 5*time.Second {
		t.Fatalf("no-length scenario rescaled to %v, want 5s", z.TotalDuration())
	}
}

func TestScaleRate(t *testing.T) {
	s, _ := Builtin("campaign")
	s.Load.Events = 77
	s.ScaleRate(0.5)
	if s.Load.Start != 100 || s.Load.Stages[0].To != 1000 || s.Load.Stages[2].To != 100 || s.Load.Events != 77 {
		t.Fatalf("scaled: %+v", s.Load)
	}
}
