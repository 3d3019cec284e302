package runner

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/evbench/evbench/reports/gate"
	"github.com/evbench/evbench/reports/measure"
)

// TestFreshnessTracker feeds acks and applications by hand: the age is
// that of the oldest bucket a projector is behind on, worst over
// projectors, per type; it drops to 0 once everything is applied.
func TestFreshnessTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := newFreshness(t0, []string{"A", "B", "A"}, 2)
	at := func(ms int) int64 { return t0.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	for i := 0; i < 10; i++ { // one A event every 100 ms from 0 to 900 ms
		f.acked("A", at(100*i))
		f.applied(0, "A", at(100*i)) // projector 0 keeps up
	}
	for i := 0; i < 5; i++ {
		f.applied(1, "A", at(100*i)) // projector 1 stops after 400 ms
	}
	f.acked("B", at(0))
	f.applied(0, "B", at(0))
	f.applied(1, "B", at(0))
	f.acked("unknown", at(0)) // not a type of the run: ignored
	f.sample(t0.Add(2 * time.Second))
	res := byType(f.result())
	if got := res["A"].MaxS; math.Abs(got-1.5) > 1e-9 {
		t.Errorf("A age = %v s, want 1.5 (now 2 s, oldest unapplied at 500 ms, by projector 1)", got)
	}
	if got := res["B"].MaxS; got != 0 {
		t.Errorf("B age = %v, want 0 (all applied)", got)
	}
	for i := 5; i < 10; i++ {
		f.applied(1, "A", at(100*i))
	}
	f.sample(t0.Add(3 * time.Second))
	res = byType(f.result())
	if s := res["A"].Series; len(s) != 4 || s[2] != 1.5 || s[3] != 0 {
		t.Errorf("A series %v, want [0 0 1.5 0]", s)
	}
	if res["A"].MaxS != 1.5 {
		t.Errorf("A max %v, want the worst, 1.5", res["A"].MaxS)
	}
}

// TestFreshnessFloorAndClamp: buckets settle out of the ring once applied,
// and an event beyond the ring's window is still counted, not lost.
func TestFreshnessFloorAndClamp(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := newFreshness(t0, []string{"A"}, 1)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	f.acked("A", at(time.Second))
	f.applied(0, "A", at(time.Second))
	f.sample(t0.Add(2 * freshSettle))
	if fl := f.rings[0].floor.Load(); fl < int64(freshSettle/freshBucket) {
		t.Fatalf("floor %d did not advance over settled, applied buckets", fl)
	}
	far := at(2*freshSettle + time.Duration(freshRing+50)*freshBucket) // beyond floor+ring
	f.acked("A", far)
	now := t0.Add(2*freshSettle + time.Duration(freshRing+60)*freshBucket)
	f.sample(now)
	if age := byType(f.result())["A"].MaxS; age <= 0 {
		t.Errorf("an unapplied event beyond the ring's window was lost (age %v)", age)
	}
	f.applied(0, "A", far)
	f.sample(now.Add(time.Second))
	if s := byType(f.result())["A"].Series; s[len(s)-1] != 0 {
		t.Errorf("after applying it the age is %v, want 0", s[len(s)-1])
	}
}

func byType(fs []measure.Freshness) map[string]measure.Freshness {
	m := map[string]measure.Freshness{}
	for _, f := range fs {
		m[f.Type] = f
	}
	return m
}

// TestFreshnessInARun: a 1.5 s consumer pause makes the oldest unapplied
// event about 1.5 s old, and a freshness gate catches it; without the
// pause the read model stays fresh.
func TestFreshnessInARun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pause    string
		min, max float64
	}{
		{"no pause", "", 0, 0.6},
		{"1.5 s pause", "pause: [{at: 1s, for: 1500ms}]", 1.3, 2.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := mustParse(t, `
name: fresh-test
events: {size: {min: 100, max: 200}, keys: {count: 100}, types: [OrderPlaced, PaymentCaptured]}
load: {start: 300, duration: 4s}
consumers: {projectors: 1, `+tc.pause+`}
gates: ["freshness.OrderPlaced.max < 1s"]
`)
			res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			got := byType(res.Freshness)
			for _, typ := range []string{"OrderPlaced", "PaymentCaptured"} {
				f, ok := got[typ]
				if !ok {
					t.Fatalf("no freshness for %s: %+v", typ, res.Freshness)
				}
				if f.MaxS < tc.min || f.MaxS > tc.max {
					t.Errorf("%s freshness max %.3f s, want in [%v, %v]", typ, f.MaxS, tc.min, tc.max)
				}
			}
			v, ok := measure.Metrics(res)["freshness.OrderPlaced.max"]
			if !ok || v != got["OrderPlaced"].MaxS {
				t.Errorf("gate metric freshness.OrderPlaced.max = %v (present %v)", v, ok)
			}
			if u, ok := gate.Unit("freshness.OrderPlaced.max"); !ok || u != gate.UnitS {
				t.Errorf("gate unit %q %v", u, ok)
			}
		})
	}
}
