package drivertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
)

// liveOnly makes the memory driver behave like a store without a log:
// Subscribe starts at the head and refuses a cursor behind it. replays
// breaks that promise (Subscribe(nil) replays although replay is declared
// unsupported); dups delivers every fifth live event twice.
type liveOnly struct {
	*memory.Driver
	replays, dups bool
}

func (l liveOnly) ReplayUnsupported() error {
	return fmt.Errorf("test store keeps no log: %w", drivers.ErrUnsupported)
}

func (l liveOnly) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	if l.replays {
		return l.Driver.Subscribe(ctx, from, deliver)
	}
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if lag := drivers.Lag(head, from); lag > 0 {
		return fmt.Errorf("%d events before the cursor: %w", lag, drivers.ErrUnsupported)
	}
	n := 0
	return l.Driver.Subscribe(ctx, head, func(b []drivers.Delivered) error {
		if l.dups {
			var out []drivers.Delivered
			for _, d := range b {
				if out = append(out, d); n%5 == 0 {
					out = append(out, d)
				}
				n++
			}
			b = out
		}
		return deliver(b)
	})
}

func openLiveOnly(replays, dups bool) func(t *testing.T) drivers.Driver {
	return func(t *testing.T) drivers.Driver {
		m := memory.New()
		t.Cleanup(func() { m.Close() })
		return syncOnly{liveOnly{Driver: m, replays: replays, dups: dups}}
	}
}

// syncOnly exposes everything of liveOnly but AppendAsync.
type syncOnly struct{ l liveOnly }

func (s syncOnly) Append(ctx context.Context, b []drivers.Event) ([]drivers.Position, error) {
	return s.l.Append(ctx, b)
}
func (s syncOnly) Subscribe(ctx context.Context, from drivers.Cursor, fn func([]drivers.Delivered) error) error {
	return s.l.Subscribe(ctx, from, fn)
}
func (s syncOnly) Head(ctx context.Context) (drivers.Cursor, error) { return s.l.Head(ctx) }
func (s syncOnly) Close() error                                     { return s.l.Close() }
func (s syncOnly) ReplayUnsupported() error                         { return s.l.ReplayUnsupported() }
func (s syncOnly) BatchAtomic() bool                                { return s.l.BatchAtomic() }
func (s syncOnly) DeduplicatesByID() bool                           { return s.l.DeduplicatesByID() }
func (s syncOnly) Durability(ctx context.Context) (drivers.Durability, error) {
	return s.l.Durability(ctx)
}

func TestLiveOnlyConforms(t *testing.T) {
	RunLiveOnly(t, openLiveOnly(false, false))
}

// TestLiveOnlyBrokenDriver fails by design; it only runs inside
// TestLiveOnlyChecksFire.
func TestLiveOnlyBrokenDriver(t *testing.T) {
	switch os.Getenv("EVBENCH_LIVEONLY_BROKEN") {
	case "replays":
		RunLiveOnly(t, openLiveOnly(true, false))
	case "dups":
		RunLiveOnly(t, openLiveOnly(false, true))
	default:
		t.Skip("run by TestLiveOnlyChecksFire")
	}
}

func TestLiveOnlyChecksFire(t *testing.T) {
	for _, tc := range []struct {
		broken string
		want   []string
	}{
		{"replays", []string{"--- FAIL: TestLiveOnlyBrokenDriver/RefusesReplay", "--- PASS: TestLiveOnlyBrokenDriver/AckedEventRoundTrips"}},
		{"dups", []string{"--- FAIL: TestLiveOnlyBrokenDriver/SubscribedBeforeAppendsExactlyOnce", "--- FAIL: TestLiveOnlyBrokenDriver/LiveUnderConcurrentWriters",
			"--- PASS: TestLiveOnlyBrokenDriver/RefusesReplay"}},
	} {
		t.Run(tc.broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLiveOnlyBrokenDriver$/^(AckedEventRoundTrips|SubscribedBeforeAppendsExactlyOnce|LiveUnderConcurrentWriters|RefusesReplay)$", "-test.v")
			cmd.Env = append(os.Environ(), "EVBENCH_LIVEONLY_BROKEN="+tc.broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("RunLiveOnly passed a driver that %s:\n%s", tc.broken, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
