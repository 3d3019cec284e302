package torture

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore"
	"github.com/evbench/evbench/drivers/refstore/engine"
)

// TestMain doubles as the child server: the torture re-executes this test
// binary with REFSTORE_TORTURE_CHILD=dir.
func TestMain(m *testing.M) {
	if dir := os.Getenv("REFSTORE_TORTURE_CHILD"); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := refstore.Serve(ctx, dir, "127.0.0.1:0", engine.SyncAlways, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childCmd(dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REFSTORE_TORTURE_CHILD="+dir)
	return cmd
}

func TestTortureShort(t *testing.T) {
	var out strings.Builder
	res, err := Run(context.Background(), Config{Cycles: 3, Dir: t.TempDir(), Writers: 4, Command: childCmd,
		MinRun: 100 * time.Millisecond, MaxRun: 400 * time.Millisecond, Out: &out})
	t.Log("\n" + out.String() + res.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Cycles != 3 {
		t.Fatalf("torture failed: %s", res)
	}
	if res.Acked == 0 {
		t.Fatal("nothing was acknowledged: the test proved nothing")
	}
}

func TestRequiresDir(t *testing.T) {
	if _, err := Run(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("got %v", err)
	}
}
