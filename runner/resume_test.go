package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	_ "github.com/evbench/evbench/drivers/kafka"
	_ "github.com/evbench/evbench/drivers/nats"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// resumeScenario runs two durable projectors for 3 s at 300 events/s and
// kills projector 0 at 1.15 s (down for downFor), committing every 100
// events or 1 s: commits fall at about 0.33, 0.67 and 1 s, so about 45
// events are delivered and not committed when it dies.
func resumeScenario(t *testing.T, downFor string) *scenarios.Scenario {
	return mustParse(t, `
name: resume-test
events: {size: {min: 100, max: 200}, keys: {count: 50}}
load: {start: 300, duration: 3s}
consumers: {projectors: 2, durable: {commit_every: 100, commit_interval: 1s}, drain: 10s}
faults: [{at: 1150ms, for: `+downFor+`, kind: consumer-restart, projector: 0}]
expect: {delivery: at-least-once}
gates: ["consumer_restart.replayed.max < 101", "consumer_restart.lost < 1"]
`)
}

// TestConsumerRestartResumes is the acceptance check of durable consumers
// on each store with them (memory, and the real client libraries on kfake
// and the embedded nats-server): after a consumer-restart the projector
// goes on from its group's committed position, so it replays at most one
// commit interval of events (commit_every 100) and loses none; the replays
// are exactly its duplicates, which an at-least-once run accepts.
func TestConsumerRestartResumes(t *testing.T) {
	for _, tc := range []struct{ driver, down string }{
		{"memory", "0s"}, {"memory", "500ms"}, {"kafka", "0s"}, {"nats", "0s"},
	} {
		t.Run(tc.driver+"/down-"+tc.down, func(t *testing.T) {
			if testing.Short() && tc.driver != "memory" {
				t.Skip("a 3 s run on an embedded broker")
			}
			res, err := Run(context.Background(), Config{Scenario: resumeScenario(t, tc.down), Driver: tc.driver})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if len(res.ConsumerRestarts) != 1 {
				t.Fatalf("consumer_restarts = %+v, want one", res.ConsumerRestarts)
			}
			c := res.ConsumerRestarts[0]
			t.Logf("%s: restart at %.3f s, down %.3f s, resumed in %.3f s, replayed %d, lost %d; delivery %+v",
				tc.driver, c.AtS, c.DownS, c.ResumeS, c.Replayed, c.Lost, res.Delivery.Projectors)
			if !c.Resumed || c.ResumeS > 2 {
				t.Errorf("projector did not resume promptly: resumed %v after %.3f s", c.Resumed, c.ResumeS)
			}
			if c.Replayed == 0 {
				t.Errorf("replayed nothing: the killed subscription committed on its way out (a crash makes no final commit)")
			}
			if c.Replayed > 100 {
				t.Errorf("replayed %d events, more than one commit interval (100): it did not resume from its commit", c.Replayed)
			}
			if c.Lost != 0 || res.Delivery.Lost != 0 {
				t.Errorf("lost %d at the resume, %d in the delivery check; want 0", c.Lost, res.Delivery.Lost)
			}
			var p0, p1 measure.ProjectorDelivery
			for _, pd := range res.Delivery.Projectors {
				if pd.Projector == 0 {
					p0 = pd
				} else {
					p1 = pd
				}
			}
			if p0.Duplicated != c.Replayed {
				t.Errorf("projector 0: delivery check counts %d duplicates, the restart %d replays; they must be the same events", p0.Duplicated, c.Replayed)
			}
			if p1.Duplicated != 0 {
				t.Errorf("projector 1 (not restarted) has %d duplicates: its own group was disturbed", p1.Duplicated)
			}
			if !res.Delivery.OK || !res.Passed {
				t.Errorf("an at-least-once run with replays must pass: delivery %v (%v), gates %+v", res.Delivery.OK, res.Delivery.Failures, res.Gates)
			}
			found := false
			for _, f := range res.Faults {
				found = found || (f.Kind == scenarios.KindConsumerRestart && f.Path == "consumer")
			}
			if !found {
				t.Errorf("no consumer-restart fault window in %+v", res.Faults)
			}
			m := measure.Metrics(res)
			if m["consumer_restart.replayed.max"] != float64(c.Replayed) || m["consumer_restart.resume.max"] != c.ResumeS {
				t.Errorf("gate metrics %v, %v do not match the restart %+v", m["consumer_restart.replayed.max"], m["consumer_restart.resume.max"], c)
			}
		})
	}
}

// TestCheckDurable refuses consumers.durable on a driver without durable
// consumers, in one line naming the key and the fix.
func TestCheckDurable(t *testing.T) {
	sc := resumeScenario(t, "0s")
	err := CheckDurable(drivers.Registration{Name: "plain"}, sc)
	if err == nil || !strings.Contains(err.Error(), "consumers.durable") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("CheckDurable on a driver without durable consumers = %v, want a one-line consumers.durable error", err)
	}
	for _, name := range []string{"memory", "kafka", "nats"} {
		reg, err := drivers.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckDurable(reg, sc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	sc.Consumers.Durable = nil
	if err := CheckDurable(drivers.Registration{Name: "plain"}, sc); err != nil {
		t.Errorf("no consumers.durable: %v", err)
	}
}
