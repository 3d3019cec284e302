package supervisor

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/evbench/evbench/chaos/faultfs"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestPowerLoss: on each store in a durable mode, on faultfs, every
// acknowledged event survives PowerLoss (kill, then every write no fsync
// covered rolled back), with and without a torn last write.
func TestPowerLoss(t *testing.T) {
	if err := faultfs.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs FUSE: %v", err)
		}
		t.Skipf("no fault filesystem here: %v", err)
	}
	for _, tc := range []struct {
		driver string
		params map[string]string
	}{
		{"refstore", map[string]string{"sync": "always"}},
		{"nats", map[string]string{"sync": "always"}},
		{"postgres", map[string]string{"fsync": "on", "synchronous_commit": "on"}},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			spec := testSpec(t, tc.driver, tc.params)
			spec.FaultFS = true
			s := start(t, spec)
			if s.FS() == nil {
				t.Fatal("FS() nil with FaultFS")
			}
			t.Logf("describe: %s", s.Describe())
			evs := drivertest.Events(40, 4)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for round, tear := range []bool{false, true} {
				n := (round + 1) * 20
				d := open(t, s)
				appendAll(t, d, evs[round*20:n])
				d.Close()
				t0 := time.Now()
				rep, err := s.PowerLoss(ctx, tear)
				if err != nil {
					t.Fatalf("PowerLoss(tear=%v): %v", tear, err)
				}
				if s.Running() {
					t.Fatal("running after PowerLoss")
				}
				if err := s.Start(ctx); err != nil {
					t.Fatalf("Start after PowerLoss: %v", err)
				}
				t.Logf("MEASURE %s power loss (tear=%v) + start %v; report %+v", tc.driver, tear, time.Since(t0).Round(time.Millisecond), rep)
				d = open(t, s)
				checkBack(t, d, evs[:n])
				d.Close()
			}
		})
	}
}

// TestPowerLossNatsDefaultSync shows what the default JetStream sync policy
// means: acknowledged events live in the page cache for up to 2 minutes,
// and a power loss takes them. Logged, not asserted: the loss depends on
// the server's write pattern.
func TestPowerLossNatsDefaultSync(t *testing.T) {
	if err := faultfs.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs FUSE: %v", err)
		}
		t.Skipf("no fault filesystem here: %v", err)
	}
	spec := testSpec(t, "nats", nil)
	spec.FaultFS = true
	s := start(t, spec)
	if got := s.Durability().AckAfterFsync; got != drivers.AckAfterFsyncFalse {
		t.Errorf("durability %s, want false", got)
	}
	evs := drivertest.Events(20, 2)
	d := open(t, s)
	appendAll(t, d, evs)
	d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := s.PowerLoss(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start after PowerLoss: %v", err)
	}
	d = open(t, s)
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	defer hcancel()
	h, err := d.Head(hctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	t.Logf("nats sync=default: %d of %d acknowledged events survived the power loss (report %+v)", h.Total(), len(evs), rep)
}
