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

// forgetful is a "durable" subscriber that commits nothing: every session
// starts from the beginning, as a fresh group per Subscribe would.
type forgetful struct{ drivers.Driver }

func (f forgetful) SubscribeDurable(ctx context.Context, _ string, _ drivers.CommitPolicy, deliver func([]drivers.Delivered) error) error {
	return f.Subscribe(ctx, nil, deliver)
}

// TestCheckDurableResumeFires runs the check on a subscriber that forgets
// its commits, in a child test process, and expects it to fail on the
// replay bound.
func TestCheckDurableResumeFires(t *testing.T) {
	if os.Getenv("EVBENCH_FORGETFUL_DURABLE") == "1" {
		CheckDurableResume(t, func(t *testing.T) drivers.Driver { return forgetful{memory.New()} })
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCheckDurableResumeFires$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EVBENCH_FORGETFUL_DURABLE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("CheckDurableResume passed a subscriber that never commits:\n%s", out)
	}
	if !strings.Contains(string(out), "session 2 replayed") {
		t.Fatalf("CheckDurableResume failed, but not on the replay bound:\n%s", out)
	}
}
