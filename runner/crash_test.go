package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/evbench/evbench/chaos/faultfs"
	_ "github.com/evbench/evbench/drivers/refstore"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// evbenchBinary builds the evbench binary once: managed refstore children
// run `evbench refstore serve`, which the test binary is not.
func evbenchBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evbench-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "evbench")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/evbench/evbench/cmd/evbench")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("build evbench: %v", binErr)
	}
	return binPath
}

// A crash of a managed refstore (sync=always) costs an outage, never an
// acknowledged event: RPO 0, RTO measured, the durable scan complete.
func TestCrashOfManagedRefstore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a managed refstore and kills it")
	}
	sc := mustParse(t, `
name: crash-test
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 300, duration: 6s}
consumers: {projectors: 1, drain: 20s}
faults: [{at: 2s, path: store, kind: kill, restart_after: 1s}]
gates: ["rpo.events == 0"]
`)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "refstore", Binary: evbenchBinary(t)})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Reason)
	}
	if !res.Driver.Managed || res.Durability == nil || res.Durability.AckAfterFsync != "true" {
		t.Fatalf("driver %+v durability %+v", res.Driver, res.Durability)
	}
	if len(res.Recovery) != 1 {
		t.Fatalf("recovery %+v", res.Recovery)
	}
	c := res.Recovery[0]
	if c.RPOEvents != 0 || !c.AppendRecovered || c.RTOAppendS < 0.9 || c.RTOAppendS > 8 {
		t.Fatalf("recovery %+v", c)
	}
	if d := res.Delivery; d.DurableScan == nil || d.DurableScan.Lost != 0 || d.DurableScan.Delivered == 0 || !d.OK || !res.Passed {
		t.Fatalf("delivery %+v durable scan %+v", d, d.DurableScan)
	}
}

// The RPO check fires: a power cut on a refstore that never fsyncs
// (sync=none) loses acknowledged events, and the run says so.
func TestPowerLossOfUnsyncedRefstoreLosesEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts the fault filesystem")
	}
	if err := faultfs.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs FUSE: %v", err)
		}
		t.Skipf("no FUSE here: %v", err)
	}
	sc := mustParse(t, `
name: power-loss-test
events: {size: {min: 100, max: 200}, keys: {count: 100}}
load: {start: 300, duration: 6s}
consumers: {projectors: 1, drain: 20s}
faults: [{at: 3s, path: store, kind: power-loss, restart_after: 1s}]
`)
	res, err := Run(context.Background(), Config{Scenario: sc, Driver: "refstore", Binary: evbenchBinary(t),
		Managed: true, ManagedParams: map[string]string{"sync": "none"}})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Reason)
	}
	if res.Durability == nil || res.Durability.AckAfterFsync != "false" {
		t.Fatalf("durability %+v", res.Durability)
	}
	if len(res.Recovery) != 1 || res.Recovery[0].RPOEvents == 0 || res.Recovery[0].RPOSeconds <= 0 {
		t.Fatalf("recovery %+v: a power cut of a store that never syncs must lose acknowledged events", res.Recovery)
	}
	if d := res.Delivery; d.Lost < res.Recovery[0].RPOEvents || d.OK || res.Passed {
		t.Fatalf("delivery %+v: lost events after a power cut fail the run", d)
	}
}
