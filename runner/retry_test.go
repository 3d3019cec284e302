package runner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports/measure"
)

// downDriver is a memory store whose appends fail while the run is within
// [from, to): an outage as the client sees it.
type downDriver struct {
	*memory.Driver
	start    time.Time
	from, to time.Duration
}

var errDown = errors.New("store down (test)")

func (d *downDriver) Append(ctx context.Context, b []drivers.Event) ([]drivers.Position, error) {
	if e := time.Since(d.start); e >= d.from && e < d.to {
		return nil, errDown
	}
	return d.Driver.Append(ctx, b)
}

func (d *downDriver) AppendAsync(ctx context.Context, b []drivers.Event, done func([]drivers.Position, error)) {
	done(d.Append(ctx, b)) // in order, as one connection would

}

var (
	downMu    sync.Mutex
	downStore = map[string]*downDriver{}
	downOnce  sync.Once
)

// registerDown registers driver "down-test"; the DSN names the store.
func registerDown() {
	downOnce.Do(func() {
		drivers.Register(drivers.Registration{
			Name: "down-test", Description: "test stub", DSNExample: "down://",
			Open: func(ctx context.Context, dsn string, o drivers.Options) (drivers.Driver, error) {
				downMu.Lock()
				defer downMu.Unlock()
				return downStore[dsn], nil
			},
		})
	})
}

// An outage of the store shows in the result: without a retry policy as an
// outage, failed appends and their latency (and a note that the commit
// percentiles cover successes only); with one as commit latency that
// includes the outage, retried events and none given up.
func TestOutageWithAndWithoutRetry(t *testing.T) {
	registerDown()
	run := func(t *testing.T, name, retry string) *measure.Result {
		yml := `
name: outage
events: {size: {min: 100, max: 100}, keys: {count: 20}}
load: {start: 400, duration: 3s` + retry + `}
consumers: {projectors: 1, drain: 5s}
`
		sc := mustParse(t, yml)
		downMu.Lock()
		d := &downDriver{Driver: memory.New(), start: time.Now().Add(startLead), from: time.Second, to: 2 * time.Second}
		downStore["down://"+name] = d
		downMu.Unlock()
		res, err := Run(context.Background(), Config{Scenario: sc, Driver: "down-test", DSN: "down://" + name, Seed: 3})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return res
	}
	t.Run("no retry", func(t *testing.T) {
		res := run(t, "plain", "")
		// Bounds are loose: a loaded machine delays the generator, and
		// fewer events then fall into the outage.
		if res.Events.Failed < 50 || res.FailedLatency.Count != res.Events.Failed || res.Events.Retried != 0 ||
			res.Commit.Count != res.Events.Acked {
			t.Fatalf("events %+v failed latency %+v", res.Events, res.FailedLatency)
		}
		if len(res.Outages) != 1 || res.Outages[0].Op != "append" || !res.Outages[0].Recovered ||
			res.Outages[0].Seconds < 0.8 || res.Outages[0].Seconds > 1.6 || res.Outages[0].Failed != res.Events.Failed {
			t.Fatalf("outages %+v, want one append outage of about 1 s", res.Outages)
		}
		if len(res.Notes) == 0 || !res.Delivery.OK {
			t.Fatalf("notes %q delivery %+v", res.Notes, res.Delivery)
		}
	})
	t.Run("retry", func(t *testing.T) {
		res := run(t, "retry", ", retry: {attempts: 20, backoff: 50ms, max_backoff: 200ms, deadline: 5s}")
		if res.Events.GaveUp != 0 || res.Events.Failed != 0 || res.Events.Retried < 50 || res.Events.Acked != res.Events.Scheduled {
			t.Fatalf("events %+v", res.Events)
		}
		if res.Commit.P99 < 500 || res.Commit.Max < 900 {
			t.Fatalf("commit %+v: the outage must show in commit latency when the client retries", res.Commit)
		}
		if len(res.Outages) != 1 || res.Outages[0].Seconds < 0.8 || res.Outages[0].Seconds > 1.6 {
			t.Fatalf("outages %+v", res.Outages)
		}
		// Retried events may land after later events of their key: that is
		// the client's doing, counted apart, and the run passes.
		if !res.Delivery.OK || res.Delivery.Reordered != 0 || res.Delivery.Lost != 0 || !res.Passed {
			t.Fatalf("delivery %+v", res.Delivery)
		}
	})
}
