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
		// Small segments: rolls, roll-time checkpoints and recovery from a
		// checkpoint plus a scanned tail all happen under SIGKILL.
		opts := engine.Options{Sync: engine.SyncAlways, SegmentSize: 128 << 10}
		if err := refstore.ServeWith(ctx, dir, "127.0.0.1:0", opts, os.Stderr); err != nil {
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
	dir := t.TempDir()
	res, err := Run(context.Background(), Config{Cycles: 3, Dir: dir, Writers: 4, Command: childCmd,
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
	// The child rolled 128 KiB segments, so recoveries ran from roll-time
	// checkpoints; the dir must still open from one.
	l, err := engine.Open(dir, engine.Options{SegmentSize: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if rep := l.Recovery(); rep.Checkpoint == 0 || rep.Segments < 2 {
		t.Fatalf("no checkpoint used after the torture (segments %d, notes %v)", rep.Segments, rep.Notes)
	}
}

func TestRequiresDir(t *testing.T) {
	if _, err := Run(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("got %v", err)
	}
}
