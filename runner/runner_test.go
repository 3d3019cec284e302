package runner

import (
	"context"
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/scenarios"
)

// stallDriver is a memory store whose appends all block for stall once the
// run is stallAt old: a whole-store hiccup (a GC pause, a failover).
type stallDriver struct {
	*memory.Driver
	mu       sync.Mutex
	start    time.Time
	stallAt  time.Duration
	stall    time.Duration
	didStall bool
}

func (d *stallDriver) Append(ctx context.Context, b []drivers.Event) ([]drivers.Position, error) {
	d.mu.Lock()
	if !d.didStall && time.Since(d.start) >= d.stallAt {
		d.didStall = true
		time.Sleep(d.stall)
	}
	d.mu.Unlock()
	return d.Driver.Append(ctx, b)
}

// AppendAsync must stall too (the embedded memory driver's would not), and
// asynchronously, as a real client: the generator is never blocked by the
// call itself, only by the in-flight window.
func (d *stallDriver) AppendAsync(ctx context.Context, b []drivers.Event, done func([]drivers.Position, error)) {
	go func() { done(d.Append(ctx, b)) }()
}

var (
	stallOnce  sync.Once
	stallStore *stallDriver
)

// registerStall registers driver "stall-test": every Open returns the same
// stalling store so producer, consumer and control connections share it.
func registerStall(t *testing.T) {
	stallOnce.Do(func() {
		drivers.Register(drivers.Registration{
			Name: "stall-test", Description: "test stub", DSNExample: "stall://",
			Open: func(ctx context.Context, dsn string, o drivers.Options) (drivers.Driver, error) {
				return stallStore, nil
			},
		})
	})
}

func mustParse(t *testing.T, yml string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := scenarios.Validate(sc, scenarios.ValidateOptions{}); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return sc
}

// TestCoordinatedOmissionCorrection: a store that stalls for 1 s in a 10 s
// run at 1000 events/s must show a commit p99 of hundreds of milliseconds,
// because every event scheduled during the stall waits for it, while the
// service time (send -> ack) of almost every event stays tiny. A closed-loop
// harness measuring only service time would report the stub's normal latency.
func TestCoordinatedOmissionCorrection(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s run")
	}
	registerStall(t)
	stallStore = &stallDriver{Driver: memory.New(), start: time.Now(), stallAt: 3 * time.Second, stall: time.Second}
	sc := mustParse(t, `
name: co-test
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 1000, duration: 10s, max_in_flight: 1}
consumers: {projectors: 1}
`)
	stallStore.start = time.Now()
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "stall-test", DSN: "stall://"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !stallStore.didStall {
		t.Fatal("the stub never stalled")
	}
	if res.Events.Acked < 9900 {
		t.Fatalf("acked %d, want ~10000", res.Events.Acked)
	}
	if res.Commit.P99 < 300 {
		t.Errorf("commit p99 = %.2f ms, want hundreds of ms (coordinated omission not corrected)", res.Commit.P99)
	}
	if res.ServiceTime.P99 > 100 {
		t.Errorf("service time p99 = %.2f ms: only one append really took 1 s", res.ServiceTime.P99)
	}
	if res.Commit.Max < 900 {
		t.Errorf("commit max = %.1f ms, want ~1000 (the stall)", res.Commit.Max)
	}
	if res.Events.WindowFull < 500 {
		t.Errorf("window_full = %d: with max_in_flight 1, the events scheduled during the stall waited for the cap", res.Events.WindowFull)
	}
	if res.Events.Late < 500 {
		t.Errorf("late = %d, want the ~1000 events scheduled during the stall", res.Events.Late)
	}
	// Those events waited behind the full window: the store's backpressure,
	// not the harness's lateness, so the client verdict leaves them out.
	if c := res.Client; c.HarnessLateFraction > c.LateFraction/5 {
		t.Errorf("harness late fraction %.4f of late %.4f: waits behind the full window were counted as the harness's", c.HarnessLateFraction, c.LateFraction)
	}
	for _, reason := range res.Client.Reasons {
		if strings.Contains(reason, "send delay") {
			t.Errorf("client verdict blames the send delay, inflated by window waits: %q", reason)
		}
	}
	if res.Delivery.Lost != 0 {
		t.Errorf("lost = %d", res.Delivery.Lost)
	}
}

func TestRunEndToEndOnMemory(t *testing.T) {
	sc := mustParse(t, `
name: e2e-test
events: {size: {min: 100, max: 300}, keys: {count: 50, distribution: zipf, s: 1.2}, batch: 2}
load:
  start: 500
  stages:
    - {to: 2000, over: 1s}
    - {to: 500, over: 2s}
consumers:
  projectors: 2
  pause: [{at: 1s, for: 1s}]
  rebuild: end
gates: ["delivery.lost == 0", "commit.p99 < 10s"]
`)
	out := t.TempDir()
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory", OutDir: out})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Reason)
	}
	if !res.Complete || !res.Passed {
		t.Fatalf("complete=%v passed=%v reason=%q gates=%+v", res.Complete, res.Passed, res.Reason, res.Gates)
	}
	want := NewSchedule(sc.Load).Total()
	if res.Events.Scheduled != want || res.Events.Acked != want {
		t.Fatalf("events %+v, want %d scheduled and acked", res.Events, want)
	}
	if !res.Delivery.Checked || res.Delivery.Lost != 0 || res.Delivery.Undelivered != 0 || res.Delivery.Duplicated != 0 || res.Delivery.Reordered != 0 || res.Delivery.Unexpected != 0 {
		t.Fatalf("delivery %+v", res.Delivery)
	}
	// Every event reached both projectors: counted once, and once per
	// projector in the breakdown.
	if res.Delivery.Delivered != want || len(res.Delivery.Projectors) != 2 ||
		res.Delivery.Projectors[0].Delivered != want || res.Delivery.Projectors[1].Delivered != want || !res.Delivery.OK {
		t.Fatalf("delivery %+v, want %d delivered to each of 2 projectors", res.Delivery, want)
	}
	if len(res.CatchUp) != 1 || res.CatchUp[0].StartedS != 2 {
		t.Fatalf("catch_up = %+v, want one entry for the pause ending at 2s", res.CatchUp)
	}
	if res.Lag.Max < 500 {
		t.Fatalf("lag max %d: a 1 s pause at >=1000 events/s must build lag", res.Lag.Max)
	}
	if res.Rebuild == nil || !res.Rebuild.Complete || res.Rebuild.Events != want {
		t.Fatalf("rebuild %+v, want %d events", res.Rebuild, want)
	}
	if res.E2E.Count != 2*want {
		t.Fatalf("e2e count %d, want %d", res.E2E.Count, 2*want)
	}
	if res.Commit.Count != want {
		t.Fatalf("commit histogram holds %d values, want %d", res.Commit.Count, want)
	}
	if len(res.Series.T) < 3 || len(res.Series.Lag) == 0 {
		t.Fatalf("series too short: %d seconds, %d lag samples", len(res.Series.T), len(res.Series.Lag))
	}
	// The interval logs were streamed into the result directory and hold
	// every value of the whole-run histograms.
	for name, want := range map[string]int64{"commit": res.Commit.Count, "e2e": res.E2E.Count, "send_delay": res.SendDelay.Count, "service_time": res.ServiceTime.Count} {
		hs, err := measure.ReadHlog(filepath.Join(out, measure.HlogNames[name]))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, h := range hs {
			n += h.TotalCount()
		}
		if n != want || len(hs) < 3 {
			t.Errorf("%s.hlog: %d intervals holding %d values, want %d values", name, len(hs), n, want)
		}
	}
	if res.Histograms.SendDelay == "" || res.Client.Reasons == nil || res.Client.CPUPercent <= 0 {
		t.Errorf("send-delay histogram or client verdict missing: %+v", res.Client)
	}
}

func TestInterruptedRunIsIncomplete(t *testing.T) {
	sc := mustParse(t, `
name: interrupt-test
events: {size: {min: 100, max: 100}, keys: {count: 10}}
load: {start: 1000, duration: 30s}
consumers: {projectors: 1, rebuild: end}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Config{Scenario: sc, Driver: "memory"})
	if !IsIncomplete(err) {
		t.Fatalf("err = %v, want incomplete", err)
	}
	if res.Complete || res.Passed {
		t.Fatalf("complete=%v passed=%v, want both false", res.Complete, res.Passed)
	}
	if res.Events.Acked == 0 || res.Events.Unsent == 0 {
		t.Fatalf("events %+v: want some acked and the rest unsent", res.Events)
	}
	if res.Rebuild != nil {
		t.Fatal("an interrupted run must not rebuild")
	}
	// Acked events the projector had not read yet are not lost: the check
	// is inconclusive and says so.
	if res.Delivery.Lost != 0 || res.Delivery.Checked {
		t.Fatalf("delivery %+v: an interrupted run must not report losses as conclusive", res.Delivery)
	}
}

func TestUnknownDriverAndMissingDSN(t *testing.T) {
	sc := mustParse(t, `
name: x
load: {start: 10, duration: 1s}
`)
	_, err := Run(context.Background(), Config{Scenario: sc, Driver: "kafak"})
	if err == nil || !IsIncomplete(err) {
		t.Fatalf("err = %v", err)
	}
	registerStall(t)
	_, err = Run(context.Background(), Config{Scenario: sc, Driver: "stall-test"})
	if err == nil {
		t.Fatal("a driver without an embedded store must need a DSN")
	}
}

// TestSteadyState: the hypothesis is judged before the first fault and
// after the last one; a check that cannot hold fails the run.
func TestSteadyState(t *testing.T) {
	yml := `
name: steady-test
events: {size: {min: 100, max: 200}, keys: {count: 10}}
load: {start: 300, duration: 6s}
consumers: {projectors: 1}
faults:
  - {at: 2s, for: 1s, path: consumer, kind: latency, latency: 1ms}
steady_state:
  checks: [%s]
  window: 1s
  recovery_timeout: 3s
`
	// A 1 ms latency on the consumer path: a reasonable hypothesis holds on
	// both sides of it.
	res, err := Run(context.Background(), Config{Scenario: mustParse(t, fmt.Sprintf(yml, `"lag.max < 100000", "achieved_rate > 100"`)), Driver: "refstore"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SteadyState) != 4 || !res.Passed {
		t.Fatalf("steady state %+v passed=%v, want 4 passing checks (2 before, 2 after)", res.SteadyState, res.Passed)
	}
	res, err = Run(context.Background(), Config{Scenario: mustParse(t, fmt.Sprintf(yml, `"commit.p50 < 1ns"`)), Driver: "refstore"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || len(res.SteadyState) != 2 || res.SteadyState[0].Pass || res.SteadyState[1].Pass {
		t.Fatalf("steady state %+v passed=%v: an impossible check must fail before and after", res.SteadyState, res.Passed)
	}
}

func TestFaultsNeedANetworkedDriver(t *testing.T) {
	sc := mustParse(t, `
name: x
load: {start: 10, duration: 2s}
faults: [{at: 0s, for: 1s, path: consumer, kind: partition}]
`)
	_, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
	if err == nil || !strings.Contains(err.Error(), "opens no network connection") {
		t.Fatalf("err = %v, want a refusal naming the missing network path", err)
	}
}
