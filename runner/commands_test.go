package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
	"github.com/evbench/evbench/reports/measure"
)

// concurrencyScenario is a short run of commands on keys keys at rate/s,
// writers handlers per key.
func concurrencyScenario(keys, writers, rate int, extra string) string {
	return fmt.Sprintf(`
name: commands-test
events:
  size: {min: 100, max: 200}
  keys: {count: %d}
  concurrency: {expected_version: true, writers_per_key: %d%s}
load: {start: %d, duration: 2s}
consumers: {projectors: 1}
gates: ["delivery.lost == 0"]
`, keys, writers, extra, rate)
}

func runCommands(t *testing.T, yml string) *measure.Result {
	t.Helper()
	sc := mustParse(t, yml)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "memory"})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Reason)
	}
	return res
}

// checkCommandDelivery: every committed command's event was delivered once
// and in per-key order, nothing lost, none unexpected (a command that gave
// up wrote nothing and consumed no sequence number), and the acked events
// are exactly the committed commands' events.
func checkCommandDelivery(t *testing.T, res *measure.Result) {
	t.Helper()
	d, c := res.Delivery, res.Concurrency
	if !d.Checked || !d.OK || d.Lost != 0 || d.Duplicated != 0 || d.Reordered != 0 || d.Unexpected != 0 || d.Ambiguous != 0 || d.Misrouted != 0 {
		t.Fatalf("delivery %+v", d)
	}
	if d.Delivered != res.Events.Acked || c.Committed != res.Events.Acked {
		t.Fatalf("delivered %d, acked %d, committed commands %d: want all equal", d.Delivered, res.Events.Acked, c.Committed)
	}
	if c.Commands != c.Committed+c.GaveUp || res.Events.Failed != c.GaveUp {
		t.Fatalf("commands %d = committed %d + gave up %d? failed events %d", c.Commands, c.Committed, c.GaveUp, res.Events.Failed)
	}
	if res.Events.Sent != c.Commands {
		t.Fatalf("sent %d events, %d commands finished", res.Events.Sent, c.Commands)
	}
}

func TestCommandsConflictAndRetry(t *testing.T) {
	res := runCommands(t, concurrencyScenario(2, 4, 4000, ""))
	c := res.Concurrency
	if c == nil {
		t.Fatal("result has no concurrency section")
	}
	t.Logf("concurrency %+v", *c)
	if c.WritersPerKey != 4 || c.MaxRetries != 10 {
		t.Fatalf("settings %+v, want 4 writers and the default 10 retries", *c)
	}
	if c.Conflicts == 0 || c.RetriesPerCommand.Mean == 0 || c.RetriesPerCommand.Max == 0 {
		t.Fatalf("4 writers on 2 keys at 4000/s: conflicts %d, retries %+v; want both > 0", c.Conflicts, c.RetriesPerCommand)
	}
	if c.Attempts != c.Commands+int64(c.RetriesPerCommand.Mean*float64(c.Commands)+0.5) {
		t.Errorf("attempts %d != commands %d + retries (mean %.3f)", c.Attempts, c.Commands, c.RetriesPerCommand.Mean)
	}
	if want := float64(c.Conflicts) / float64(c.Attempts); c.ConflictRate != want || c.ConflictRate <= 0 || c.ConflictRate >= 1 {
		t.Errorf("conflict rate %.3f, want conflicts/attempts %.3f in (0,1)", c.ConflictRate, want)
	}
	if c.Reloads < c.Conflicts {
		t.Errorf("reloads %d < conflicts %d: every conflict reloads the version", c.Reloads, c.Conflicts)
	}
	checkCommandDelivery(t, res)
	m := measure.Metrics(res)
	if m["concurrency.conflicts"] != float64(c.Conflicts) || m["concurrency.conflict_rate"] != c.ConflictRate || m["concurrency.retries_per_command"] != c.RetriesPerCommand.Mean {
		t.Errorf("gate metrics %v %v %v disagree with %+v", m["concurrency.conflicts"], m["concurrency.conflict_rate"], m["concurrency.retries_per_command"], *c)
	}
}

func TestCommandsOneWriterNeverConflicts(t *testing.T) {
	res := runCommands(t, concurrencyScenario(2, 1, 4000, ""))
	c := res.Concurrency
	if c.Conflicts != 0 || c.GaveUp != 0 || c.RetriesPerCommand.Max != 0 {
		t.Fatalf("one writer per key: %+v, want no conflicts", *c)
	}
	if c.Reloads != 2 {
		t.Errorf("reloads %d: a single writer reads each of the 2 keys' versions once", c.Reloads)
	}
	checkCommandDelivery(t, res)
}

// With no retries allowed, commands give up; they fail, write nothing and
// leave the per-key sequence contiguous.
func TestCommandsGiveUpWithoutRetries(t *testing.T) {
	res := runCommands(t, concurrencyScenario(1, 8, 4000, ", max_retries: 0"))
	c := res.Concurrency
	if c.GaveUp == 0 || c.GaveUp != c.Conflicts {
		t.Fatalf("max_retries 0, 8 writers on 1 key: %+v; want every conflict to give up", *c)
	}
	checkCommandDelivery(t, res)
}

// dupDriver stores every 50th committed command a second time, under an
// ID that names the same key and sequence: a store that duplicates.
type dupDriver struct {
	*memory.Driver
	n atomic.Int64
}

func (d *dupDriver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	pos, err := d.Driver.AppendExpected(ctx, stream, expected, batch)
	if err == nil && d.n.Add(1)%50 == 0 {
		again := slices.Clone(batch)
		for i := range again {
			again[i].ID[idRunBytes] ^= 0xff // another writer's ID for the same key and sequence
		}
		d.Driver.Append(ctx, again)
	}
	return pos, err
}

var dupOnce sync.Once

// The per-key delivery check still fires on commands: a store that
// duplicates some of them fails the run.
func TestCommandsDeliveryCheckFires(t *testing.T) {
	store := &dupDriver{Driver: memory.New()}
	dupOnce.Do(func() {
		drivers.Register(drivers.Registration{
			Name: "dup-expected-test", Description: "test stub", DSNExample: "dup://", ExpectedVersion: true,
			Open: func(ctx context.Context, dsn string, o drivers.Options) (drivers.Driver, error) { return store, nil },
		})
	})
	sc := mustParse(t, concurrencyScenario(2, 2, 2000, ""))
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "dup-expected-test", DSN: "dup://"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Delivery.OK || res.Delivery.Duplicated == 0 || res.Passed {
		t.Fatalf("a store that stores every 50th command twice passed: delivery %+v", res.Delivery)
	}
}

func TestCheckCapabilitiesRefusesExpectedVersion(t *testing.T) {
	sc := mustParse(t, concurrencyScenario(2, 4, 100, ""))
	err := CheckCapabilities(drivers.Registration{Name: "kafka"}, sc)
	if err == nil || !strings.Contains(err.Error(), "events.concurrency.expected_version: driver kafka cannot append at an expected version") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("kafka with expected_version: %v, want a one-line refusal naming the field", err)
	}
	if err := CheckCapabilities(drivers.Registration{Name: "refstore", ExpectedVersion: true}, sc); err != nil {
		t.Fatalf("a capable driver was refused: %v", err)
	}
	plain := mustParse(t, `
name: plain
events: {size: {min: 100, max: 200}, keys: {count: 2}}
load: {start: 100, duration: 1s}
`)
	if err := CheckCapabilities(drivers.Registration{Name: "kafka"}, plain); err != nil {
		t.Fatalf("a scenario without concurrency was refused: %v", err)
	}
	// Run refuses it before the load too: the stub driver has no flag.
	registerStall(t)
	stallStore = &stallDriver{Driver: memory.New(), stallAt: 1 << 62}
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "stall-test", DSN: "stall://"})
	if err == nil || !strings.Contains(err.Error(), "events.concurrency.expected_version") || res.Events.Sent != 0 {
		t.Fatalf("Run on a driver without the capability: err %v, sent %d", err, res.Events.Sent)
	}
}
