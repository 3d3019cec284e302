package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	_ "github.com/evbench/evbench/drivers/all"
	"github.com/evbench/evbench/drivers/drivertest"
)

// evbenchBin is the evbench binary TestMain builds for the refstore and
// nats children.
var evbenchBin string

const helperEnv = "EVBENCH_SUPERVISOR_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		parentDeathHelper()
		return
	}
	dir, err := os.MkdirTemp("", "evbench-supervisor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	evbenchBin = filepath.Join(dir, "evbench")
	build := exec.Command("go", "build", "-o", evbenchBin, "./cmd/evbench")
	build.Dir = "../.." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "supervisor tests: go build ./cmd/evbench: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testSpec(t *testing.T, driver string, params map[string]string) Spec {
	t.Helper()
	if driver == "postgres" {
		requirePostgres(t)
	}
	return Spec{Driver: driver, Params: params, Binary: evbenchBin, Logf: t.Logf}
}

// requirePostgres skips (fails with CI=true) when the server binaries are
// missing.
func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := postgresBindir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI: %v", err)
		}
		t.Skipf("%v", err)
	}
}

func start(t *testing.T, spec Spec) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t0 := time.Now()
	s, err := Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("MEASURE %s start (first, incl. setup) %v", spec.Driver, time.Since(t0).Round(time.Millisecond))
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t *testing.T, s *Store) drivers.Driver {
	t.Helper()
	reg, err := drivers.Lookup(s.spec.Driver)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := reg.Open(ctx, s.DSN(), drivers.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("open %s: %v", s.DSN(), err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func appendAll(t *testing.T, d drivers.Driver, evs []drivers.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, e := range evs {
		if _, err := d.Append(ctx, []drivers.Event{e}); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// readAllIDs subscribes from the start until n events arrived (10 s).
func readAllIDs(t *testing.T, d drivers.Driver, n int) map[[16]byte]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[[16]byte]bool{}
	errDone := errors.New("done")
	err := d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
		for _, e := range b {
			got[e.ID] = true
		}
		if len(got) >= n {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("subscribe: got %d of %d events: %v", len(got), n, err)
	}
	return got
}

func checkBack(t *testing.T, d drivers.Driver, want []drivers.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := d.Head(ctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if h.Total() != int64(len(want)) {
		t.Errorf("head %d, want %d", h.Total(), len(want))
	}
	got := readAllIDs(t, d, len(want))
	for _, e := range want {
		if !got[e.ID] {
			t.Errorf("event %x missing", e.ID)
		}
	}
}

// TestLifecycle runs each managed store through Start, Kill, Start, Stop,
// Cont, Restart and Close, checking the events survive.
func TestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		driver string
		params map[string]string
	}{
		{"refstore", map[string]string{"sync": "always"}},
		{"nats", map[string]string{"sync": "always"}},
		{"postgres", nil},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			s := start(t, testSpec(t, tc.driver, tc.params))
			t.Logf("describe: %s", s.Describe())
			if dur := s.Durability(); dur.AckAfterFsync != drivers.AckAfterFsyncTrue || dur.Source != "managed store configuration" {
				t.Errorf("durability %+v", dur)
			}
			root := s.Dir()
			evs := drivertest.Events(12, 3)
			d := open(t, s)
			appendAll(t, d, evs[:4])
			d.Close()

			if err := s.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			if s.Running() {
				t.Fatal("running after Kill")
			}
			if err := s.Kill(); err == nil {
				t.Error("second Kill: no error")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			t0 := time.Now()
			if err := s.Start(ctx); err != nil {
				t.Fatalf("Start after Kill: %v", err)
			}
			t.Logf("MEASURE %s start after kill %v", tc.driver, time.Since(t0).Round(time.Millisecond))
			if err := s.Start(ctx); err == nil {
				t.Error("Start while running: no error")
			}
			d = open(t, s)
			checkBack(t, d, evs[:4])

			// Stop freezes it: an append cannot complete until Cont.
			if err := s.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if _, st, _ := procStat(s.cur.Load().pid); st != 'T' {
				t.Errorf("state after Stop %q, want T", st)
			}
			res := make(chan error, 1)
			go func() {
				actx, acancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer acancel()
				_, err := d.Append(actx, evs[4:5])
				res <- err
			}()
			select {
			case err := <-res:
				t.Fatalf("append completed while stopped: %v", err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := s.Cont(); err != nil {
				t.Fatalf("Cont: %v", err)
			}
			if err := <-res; err != nil {
				t.Fatalf("append after Cont: %v", err)
			}
			appendAll(t, d, evs[5:8])
			d.Close()

			t0 = time.Now()
			if err := s.Restart(ctx); err != nil {
				t.Fatalf("Restart: %v", err)
			}
			t.Logf("MEASURE %s restart (graceful stop + start) %v", tc.driver, time.Since(t0).Round(time.Millisecond))
			d = open(t, s)
			checkBack(t, d, evs[:8])
			d.Close()

			pid := s.cur.Load().pid
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if alive(pid) {
				t.Errorf("pid %d alive after Close", pid)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Errorf("temp dir %s still there after Close (%v)", root, err)
			}
			if err := s.Start(ctx); err == nil {
				t.Error("Start after Close: no error")
			}
		})
	}
}

// TestKeepData: Close keeps the directory with KeepData, and a new store
// started on it finds the data.
func TestKeepData(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(t, "refstore", nil)
	spec.DataDir = dir
	spec.KeepData = true
	s := start(t, spec)
	evs := drivertest.Events(3, 1)
	d := open(t, s)
	appendAll(t, d, evs)
	d.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Fatalf("data gone with KeepData: %v", err)
	}
	s2 := start(t, spec)
	checkBack(t, open(t, s2), evs)
	if !strings.Contains(s2.Describe(), "sync=always") {
		t.Errorf("describe %q", s2.Describe())
	}
}

func TestSupportedAndParams(t *testing.T) {
	for _, n := range []string{"refstore", "nats", "postgres"} {
		if err := Supported(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	err := Supported("kafka")
	if err == nil || !strings.Contains(err.Error(), "managed drivers: nats, postgres, refstore") {
		t.Errorf("kafka: %v", err)
	}
	ctx := context.Background()
	for _, spec := range []Spec{
		{Driver: "kafka"},
		{Driver: "refstore", Params: map[string]string{"sync": "sometimes"}},
		{Driver: "refstore", Params: map[string]string{"fsync": "on"}},
		{Driver: "nats", Params: map[string]string{"sync": "interval"}},
		{Driver: "postgres", Params: map[string]string{"fsync": "maybe"}},
	} {
		if s, err := Start(ctx, spec); err == nil {
			s.Close()
			t.Errorf("%+v: no error", spec)
		} else {
			t.Logf("%s %v: %v", spec.Driver, spec.Params, err)
		}
	}
	nb, _ := newNats(nil)
	if d := nb.durability(); d.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("nats default durability %+v", d)
	}
	rb, _ := newRefstore(map[string]string{"sync": "interval"})
	if d := rb.durability(); d.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("refstore interval durability %+v", d)
	}
}

// TestStartFailureSaysWhy: a child that exits at once fails Start with its
// output, and nothing is left behind.
func TestStartFailureSaysWhy(t *testing.T) {
	spec := testSpec(t, "refstore", nil)
	spec.Binary = "/bin/false"
	_, err := Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("err = %v", err)
	}
}

// TestParentDeath: a helper process (this test binary) starts a managed
// refstore from a goroutine whose OS thread then exits (a goroutine that
// ends while locked with runtime.LockOSThread takes its thread with it),
// retires more threads the same way, checks the child survived all that
// (Pdeathsig is per thread: the child must have been forked on the
// supervisor's own never-exiting thread), and then the test SIGKILLs the
// helper: the child must be gone within 2 s.
func TestParentDeath(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "EVBENCH_SUPERVISOR_BIN="+evbenchBin, "EVBENCH_SUPERVISOR_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var pid int
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("helper ended without a line")
		}
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != "child" {
			t.Fatalf("helper said %q", l)
		}
		pid, _ = strconv.Atoi(f[1])
	case <-time.After(30 * time.Second):
		t.Fatal("helper silent for 30s")
	}
	if !alive(pid) {
		t.Fatalf("child %d not alive before the helper is killed", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t0 := time.Now()
	if left := waitGone([]int{pid}, 2*time.Second); len(left) > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d still alive 2s after its parent was SIGKILLed", pid)
	}
	t.Logf("MEASURE child gone %v after the parent's SIGKILL", time.Since(t0).Round(time.Millisecond))
}

func parentDeathHelper() {
	fail := func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "helper: "+f+"\n", a...)
		os.Exit(2)
	}
	// Start the store from a goroutine locked to its thread that then
	// exits locked, so the runtime terminates that thread: had the child
	// been forked on it, Pdeathsig would kill the child right there.
	type started struct {
		s   *Store
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		s, err := Start(context.Background(), Spec{
			Driver: "refstore", Binary: os.Getenv("EVBENCH_SUPERVISOR_BIN"),
			DataDir: filepath.Join(os.Getenv("EVBENCH_SUPERVISOR_DIR"), "store"),
		})
		ch <- started{s, err}
	}()
	r := <-ch
	if r.err != nil {
		fail("start: %v", r.err)
	}
	s := r.s
	pid := s.cur.Load().pid
	// Retire more threads the same way.
	done := make(chan struct{})
	for range 32 {
		go func() {
			runtime.LockOSThread()
			done <- struct{}{}
		}()
	}
	for range 32 {
		<-done
	}
	time.Sleep(300 * time.Millisecond)
	if !alive(pid) || !s.Running() {
		fail("child %d died when threads were retired", pid)
	}
	fmt.Printf("child %d\n", pid)
	select {} // until SIGKILLed
}

// TestStoppedStore: Restart, Kill and Close all work on a SIGSTOPped
// store (they resume it first, or SIGKILL it, which needs no resume).
func TestStoppedStore(t *testing.T) {
	s := start(t, testSpec(t, "refstore", nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart of a stopped store: %v", err)
	}
	if time.Since(t0) > 10*time.Second {
		t.Errorf("Restart of a stopped store took %v (a SIGKILL fallback?)", time.Since(t0))
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("Kill of a stopped store: %v", err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	pid := s.cur.Load().pid
	t0 = time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close of a stopped store: %v", err)
	}
	if alive(pid) || time.Since(t0) > 5*time.Second {
		t.Errorf("Close of a stopped store: alive=%v after %v", alive(pid), time.Since(t0))
	}
	if err := s.Stop(); err == nil {
		t.Error("Stop after Close: no error")
	}
}
