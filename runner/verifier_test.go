package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	_ "github.com/evbench/evbench/drivers/faulty"
	"github.com/evbench/evbench/reports/measure"
)

// The verifier shown to fire end to end: each stub store breaks one promise
// and the run through Run must fail with exactly that verdict. The same
// scenario on a healthy store passes (the control row), so a verdict
// cannot come from the scenario itself.
func TestVerifierFiresOnFaultyStores(t *testing.T) {
	tests := []struct {
		fault  string
		expect string // the scenario's expect section
		check  func(d measure.Delivery) bool
		reason string // a failure line must contain it; "" = the run passes
	}{
		{"lose", "", func(d measure.Delivery) bool { return d.Lost > 0 && d.Checked }, "lost"},
		{"duplicate", "", func(d measure.Delivery) bool { return d.Duplicated > 0 && d.Lost == 0 }, "more than once"},
		{"duplicate", "{delivery: at-least-once}", func(d measure.Delivery) bool { return d.Duplicated > 0 }, ""},
		{"swap", "", func(d measure.Delivery) bool { return d.Reordered > 0 && d.Lost == 0 }, "out of per-key order"},
		{"swap", "{order: none}", func(d measure.Delivery) bool { return d.Reordered > 0 }, ""},
		{"late", "", func(d measure.Delivery) bool { return !d.Checked && d.Undelivered > 0 && d.Lost == 0 }, "inconclusive"},
		{"misroute", "{delivery: at-least-once, order: none}", func(d measure.Delivery) bool { return d.Misrouted > 0 && d.Lost > 0 }, "another key"},
		{"", "", func(d measure.Delivery) bool { return d.Lost+d.Duplicated+d.Reordered+d.Misrouted == 0 && d.Checked }, ""},
	}
	for i, tc := range tests {
		name := tc.fault
		if name == "" {
			name = "healthy"
		}
		t.Run(fmt.Sprintf("%s/%s", name, strings.Trim(tc.expect, "{}")), func(t *testing.T) {
			t.Parallel()
			yml := `
name: verifier
events: {size: {min: 100, max: 100}, keys: {count: 3}}
load: {start: 500, duration: 1s}
consumers: {projectors: 2, drain: 1s}
`
			if tc.expect != "" {
				yml += "expect: " + tc.expect + "\n"
			}
			sc := mustParse(t, yml)
			driver, dsn := "faulty", fmt.Sprintf("faulty://verifier-%d?fault=%s&every=97&delay=1m", i, tc.fault)
			if tc.fault == "" {
				driver, dsn = "memory", ""
			}
			res, err := Run(context.Background(), Config{Scenario: sc, Driver: driver, DSN: dsn, Seed: 42})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			d := res.Delivery
			if !tc.check(d) {
				t.Fatalf("delivery %+v: not the verdict of fault %q", d, tc.fault)
			}
			if tc.reason == "" {
				if !d.OK || !res.Passed {
					t.Fatalf("failed although the scenario allows it: %v", d.Failures)
				}
				return
			}
			if d.OK || res.Passed {
				t.Fatalf("passed: %+v", d)
			}
			if !strings.Contains(strings.Join(d.Failures, "\n"), tc.reason) {
				t.Fatalf("failures %q lack %q", d.Failures, tc.reason)
			}
			if len(d.Projectors) != 2 {
				t.Fatalf("per-projector breakdown: %+v", d.Projectors)
			}
		})
	}
}
