package drivertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
)

// blind is an ExpectedAppender that ignores the expected version: the
// lost-update bug CheckExpectedVersion exists to catch.
type blind struct{ *memory.Driver }

func (b blind) AppendExpected(ctx context.Context, _ string, _ uint64, batch []drivers.Event) ([]drivers.Position, error) {
	return b.Append(ctx, batch)
}

// TestExpectedCheckOnBlindDriver fails by design; it only runs inside
// TestExpectedCheckFires.
func TestExpectedCheckOnBlindDriver(t *testing.T) {
	if os.Getenv("EVBENCH_EXPECT_BLIND") != "1" {
		t.Skip("run by TestExpectedCheckFires")
	}
	CheckExpectedVersion(t, func(t *testing.T) drivers.Driver { return blind{memory.New()} })
}

func TestExpectedCheckFires(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestExpectedCheckOnBlindDriver$", "-test.v")
	cmd.Env = append(os.Environ(), "EVBENCH_EXPECT_BLIND=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("CheckExpectedVersion passed a driver that ignores the expected version:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: TestExpectedCheckOnBlindDriver/StaleVersionConflictsAndWritesNothing",
		"--- FAIL: TestExpectedCheckOnBlindDriver/RacingWritersKeepOneHistory",
		"--- PASS: TestExpectedCheckOnBlindDriver/SequentialAppendsFollowVersion",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExpectedCheckMemory(t *testing.T) {
	CheckExpectedVersion(t, func(t *testing.T) drivers.Driver {
		d := memory.New()
		t.Cleanup(func() { d.Close() })
		return d
	})
}
