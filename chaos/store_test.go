package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// fakeStore records what the store faults did to it, with times.
type fakeStore struct {
	mu    sync.Mutex
	start time.Time
	calls []string
	fs    bool
}

func (s *fakeStore) rec(format string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("%s@%.1f", fmt.Sprintf(format, args...), time.Since(s.start).Seconds()))
	return nil
}
func (s *fakeStore) Kill() error                          { return s.rec("kill") }
func (s *fakeStore) Stop() error                          { return s.rec("stop") }
func (s *fakeStore) Cont() error                          { return s.rec("cont") }
func (s *fakeStore) Restart(context.Context) error        { return s.rec("restart") }
func (s *fakeStore) Start(context.Context) error          { return s.rec("start") }
func (s *fakeStore) HasFaultFS() bool                     { return s.fs }
func (s *fakeStore) DiskClear() error                     { return s.rec("clear") }
func (s *fakeStore) DiskFull(free int64) error            { return s.rec("full %d", free) }
func (s *fakeStore) DiskError(op string, t float64) error { return s.rec("eio %s %g", op, t) }
func (s *fakeStore) DiskSlow(f, w time.Duration, b int64, iops int) error {
	return s.rec("slow %v %v %d %d", f, w, b, iops)
}
func (s *fakeStore) PowerLoss(_ context.Context, tear bool) (string, error) {
	return "discarded 3 writes", s.rec("power-loss tear=%v", tear)
}

func parseStoreFault(t *testing.T, yml string) scenarios.Fault {
	t.Helper()
	sc, err := scenarios.Parse("t.yaml", []byte("name: t\nload: {start: 10, duration: 10s}\nfaults:\n  - "+yml+"\n"))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return sc.Faults[0]
}

func TestStoreFaultValidation(t *testing.T) {
	tests := []struct{ fault, want string }{
		{"{at: 1s, path: store, kind: kill}", ""},
		{"{at: 1s, path: store, kind: kill, restart_after: 2s}", ""},
		{"{at: 1s, path: store, kind: kill, restart_after: -1s}", "restart_after: -1s is negative"},
		{"{at: 1s, for: 2s, path: store, kind: kill}", "does not apply to kind kill"},
		{"{at: 1s, path: store, kind: power-loss, tear: yes-please}", "tear:"},
		{"{at: 1s, path: store, kind: stop}", "for: must be > 0 for kind stop"},
		{"{at: 1s, for: 2s, path: store, kind: disk-error, op: read}", "op: read is not write or fsync"},
		{"{at: 1s, for: 2s, path: store, kind: disk-error, toxicity: 0.5}", ""},
		{"{at: 1s, for: 2s, path: store, kind: disk-slow}", "nothing to slow"},
		{"{at: 1s, for: 2s, path: store, kind: disk-slow, fsync_latency: 20ms, bandwidth: 2MB/s}", ""},
		{"{at: 1s, for: 2s, path: store, kind: latency, latency: 5ms}", "acts on a network path"},
		{"{at: 1s, path: producer, kind: kill}", "acts on the store"},
		{"{at: 1s, path: store, kind: crash}", "unknown store fault kind"},
		{"{at: 1s, path: store, kind: kill, toxicity: 0.5}", "toxicity: not supported"},
	}
	for _, tc := range tests {
		err := Validate(parseStoreFault(t, tc.fault))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.fault, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.fault, err, tc.want)
		}
	}
}

func TestCheckStoreFaults(t *testing.T) {
	kill := []scenarios.Fault{parseStoreFault(t, "{at: 1s, path: store, kind: kill}")}
	if err := CheckStoreFaults(kill, false, false); err == nil || !strings.Contains(err.Error(), "--managed") {
		t.Fatalf("unmanaged: %v", err)
	}
	if err := CheckStoreFaults(kill, true, false); err != nil {
		t.Fatalf("managed kill: %v", err)
	}
	full := []scenarios.Fault{parseStoreFault(t, "{at: 1s, for: 1s, path: store, kind: disk-full}")}
	if err := CheckStoreFaults(full, true, false); err == nil || !strings.Contains(err.Error(), "fault filesystem") {
		t.Fatalf("disk-full without faultfs: %v", err)
	}
	if !NeedsFaultFS(full) || NeedsFaultFS(kill) {
		t.Fatal("NeedsFaultFS")
	}
	if s, e, lost := StoreFaultSpan(kill[0]); s != time.Second || e != 2*time.Second || !lost {
		t.Fatalf("span of kill: %v..%v %v", s, e, lost)
	}
}

// The timeline runs store faults in order on the run's clock and undoes
// each at its end: kill, then start restart_after later.
func TestStoreTimeline(t *testing.T) {
	faults := []scenarios.Fault{
		parseStoreFault(t, "{at: 0.3s, for: 0.2s, path: store, kind: stop}"),
		parseStoreFault(t, "{at: 0.1s, path: store, kind: kill, restart_after: 0.1s}"),
		parseStoreFault(t, "{at: 0.6s, path: store, kind: power-loss, restart_after: 0.1s, tear: true}"),
	}
	start := time.Now()
	s := &fakeStore{start: start, fs: true}
	tl, err := StartStoreFaults(context.Background(), start, faults, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	tl.Wait()
	want := []string{"kill@0.1", "start@0.2", "stop@0.3", "cont@0.5", "power-loss tear=true@0.6", "start@0.7"}
	if strings.Join(s.calls, " ") != strings.Join(want, " ") {
		t.Fatalf("calls %v, want %v", s.calls, want)
	}
	ws := tl.Windows()
	if len(ws) != 3 || ws[0].Kind != "kill" || ws[0].Path != PathStore || ws[2].Params["report"] != "discarded 3 writes" {
		t.Fatalf("windows %+v", ws)
	}
}
