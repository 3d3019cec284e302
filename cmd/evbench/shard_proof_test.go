package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/evbench/evbench/reports/measure"
)

// startTolerance is what the barrier promises about the shards' start
// instants: every shard computes t=0 from the same markers (the latest
// first announcement + the lead), so they agree exactly on one clock and
// differ by the hosts' clock offset across machines. On one host the only
// slack is the JSON round trip: none.
const startTolerance = time.Millisecond

// TestShardedRunMergesLosslessly is the local proof of issue 17: one
// `refstore serve`, three `evbench run --shard i/3 --barrier` processes
// against it, then `evbench merge`. It checks that the merged counts are
// the shards' sums, that the merged percentiles are those of one HDR
// histogram of every raw sample (the shards' encoded histograms merged
// here with hdrhistogram-go), that the delivery check is exact across the
// shards (each verifies only its own events and sees every other shard's),
// and that the three start instants agree within startTolerance.
func TestShardedRunMergesLosslessly(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	addr := startRefstoreServe(t, self, filepath.Join(root, "data"))

	runID := fmt.Sprintf("proof-%d", time.Now().UnixNano()%1e9)
	dirs := make([]string, 3)
	outputs := make([]bytes.Buffer, 3)
	cmds := make([]*exec.Cmd, 3)
	for i := range cmds {
		dirs[i] = filepath.Join(root, fmt.Sprintf("shard-%d", i))
		cmds[i] = exec.Command(self, "run", "burst", "--dsn", "refstore://"+addr, "--duration", "4s", "--rate-scale", "0.3",
			"--shard", fmt.Sprintf("%d/3", i), "--barrier", "--barrier-timeout", "20s", "--run-id", runID, "-q", "--out", dirs[i])
		cmds[i].Env = append(os.Environ(), "EVBENCH_AS_MAIN=1")
		cmds[i].Stdout, cmds[i].Stderr = &outputs[i], &outputs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // staggered, as pods start: late shards need the others' answers
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %d/3: %v\n%s", i, err, outputs[i].String())
		}
	}

	shards := make([]*measure.Result, 3)
	for i, d := range dirs {
		if shards[i], err = measure.ReadResult(d); err != nil {
			t.Fatal(err)
		}
	}
	checkShardsDelivery(t, shards)
	checkShardsStart(t, shards)

	merged := filepath.Join(root, "merged")
	mergeCmd := exec.Command(self, append(append([]string{"merge"}, dirs...), "--out", merged)...)
	mergeCmd.Env = append(os.Environ(), "EVBENCH_AS_MAIN=1") // else the test binary runs this test again, recursively
	out, err := mergeCmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), `unknown command "merge"`) && os.Getenv("CI") != "true" {
			t.Skip("evbench merge is not built yet; the shards' own checks passed")
		}
		t.Fatalf("evbench merge: %v\n%s", err, out)
	}
	m, err := measure.ReadResult(merged)
	if err != nil {
		t.Fatal(err)
	}
	var acked, sent, scheduled, delivered int64
	for _, r := range shards {
		acked += r.Events.Acked
		sent += r.Events.Sent
		scheduled += r.Events.Scheduled
		delivered += r.Delivery.Delivered
	}
	if m.Events.Acked != acked || m.Events.Sent != sent || m.Events.Scheduled != scheduled {
		t.Errorf("merged events acked %d sent %d scheduled %d; the shards sum to %d, %d, %d",
			m.Events.Acked, m.Events.Sent, m.Events.Scheduled, acked, sent, scheduled)
	}
	if m.Delivery.Delivered != delivered || m.Delivery.Lost != 0 || !m.Delivery.OK {
		t.Errorf("merged delivery: delivered %d (shards sum to %d), lost %d, ok %v", m.Delivery.Delivered, delivered, m.Delivery.Lost, m.Delivery.OK)
	}
	for _, c := range []struct {
		name   string
		got    measure.Percentiles
		merged string
		each   func(*measure.Result) string
	}{
		{"commit", m.Commit, m.Histograms.Commit, func(r *measure.Result) string { return r.Histograms.Commit }},
		{"e2e", m.E2E, m.Histograms.E2E, func(r *measure.Result) string { return r.Histograms.E2E }},
		{"service_time", m.ServiceTime, m.Histograms.ServiceTime, func(r *measure.Result) string { return r.Histograms.ServiceTime }},
	} {
		ref := measure.NewHistogram() // the same HDR geometry the recorders use
		for i, r := range shards {
			h, err := measure.DecodeHistogram(c.each(r))
			if err != nil {
				t.Fatalf("shard %d: %s histogram: %v", i, c.name, err)
			}
			if dropped := ref.Merge(h); dropped != 0 {
				t.Fatalf("shard %d: %d %s values outside the histogram range", i, dropped, c.name)
			}
		}
		if want := measure.Summarize(ref); c.got != want {
			t.Errorf("merged %s percentiles %+v; one histogram of every sample gives %+v", c.name, c.got, want)
		}
		if h, err := measure.DecodeHistogram(c.merged); err != nil || !sameCounts(h, ref) {
			t.Errorf("merged %s histogram (err %v) differs from the shards' merged one", c.name, err)
		}
	}
	if code, text := execCLI(t, "gate", merged, "--gate", fmt.Sprintf("events.acked == %d", acked), "--gate", "delivery.lost == 0"); code != exitOK {
		t.Errorf("gate on the merged directory: exit %d\n%s", code, text)
	}
}

// checkShardsDelivery: each shard verified its own events exactly (lost 0,
// delivered = acked) and read the other shards' events (all but those
// appended after its drain ended), ignored by ID, never flagged.
func checkShardsDelivery(t *testing.T, shards []*measure.Result) {
	t.Helper()
	var total int64
	for _, r := range shards {
		total += r.Events.Acked
	}
	for i, r := range shards {
		d := r.Delivery
		if !r.Complete || !r.Passed || !d.Checked {
			t.Errorf("shard %d: complete %v passed %v checked %v (%s)", i, r.Complete, r.Passed, d.Checked, r.Reason)
		}
		if r.Events.Acked == 0 || d.Lost != 0 || d.Delivered != r.Events.Acked || d.Misrouted != 0 || d.Unexpected != 0 {
			t.Errorf("shard %d: acked %d delivered %d lost %d misrouted %d unexpected %d; want delivered = acked, no failures",
				i, r.Events.Acked, d.Delivered, d.Lost, d.Misrouted, d.Unexpected)
		}
		// A shard stops reading once its own events are in: the other
		// shards' last events may land after that, so it sees nearly all.
		if others := total - r.Events.Acked; d.OtherShards > others || d.OtherShards < others*9/10 {
			t.Errorf("shard %d: its projector ignored %d other shards' events; the other shards acked %d", i, d.OtherShards, others)
		}
		if r.Shard == nil || r.Shard.Index != i || r.Shard.Count != 3 || r.Shard.Barrier == nil {
			t.Fatalf("shard %d: result shard field %+v", i, r.Shard)
		}
		if (i == 0) != (r.Rebuild != nil) {
			t.Errorf("shard %d: rebuild %v; only the lead (shard 0) rebuilds", i, r.Rebuild != nil)
		}
	}
}

// checkShardsStart: the three t=0 instants agree within startTolerance,
// and each came after the shard had read every other shard's marker.
func checkShardsStart(t *testing.T, shards []*measure.Result) {
	t.Helper()
	t0 := shards[0].StartedAt
	for i, r := range shards {
		if d := r.StartedAt.Sub(t0).Abs(); d > startTolerance {
			t.Errorf("shard %d started %v from shard 0; the barrier promises %v on one host", i, d, startTolerance)
		}
		if !r.StartedAt.Equal(r.Shard.StartAt) {
			t.Errorf("shard %d: started_at %v but shard.start_at %v", i, r.StartedAt, r.Shard.StartAt)
		}
		if len(r.Shard.Barrier.Peers) != 2 {
			t.Errorf("shard %d saw %d peers' markers, want 2", i, len(r.Shard.Barrier.Peers))
		}
		for _, p := range r.Shard.Barrier.Peers {
			if !p.ReceivedAt.Before(r.StartedAt) {
				t.Errorf("shard %d read shard %d's marker at %v, after the start %v", i, p.Shard, p.ReceivedAt, r.StartedAt)
			}
		}
	}
}

// sameCounts compares two histograms' totals and percentiles.
func sameCounts(a, b *hdr.Histogram) bool {
	return a.TotalCount() == b.TotalCount() && a.Max() == b.Max() && a.Min() == b.Min() &&
		a.ValueAtQuantile(50) == b.ValueAtQuantile(50) && a.ValueAtQuantile(99.9) == b.ValueAtQuantile(99.9)
}

// startRefstoreServe starts `evbench refstore serve` on a free port and
// returns its address once it accepts connections; the test's cleanup
// stops it.
func startRefstoreServe(t *testing.T, self, dir string) string {
	t.Helper()
	cmd := exec.Command(self, "refstore", "serve", "--dir", dir, "--addr", "127.0.0.1:0", "--sync", "none")
	cmd.Env = append(os.Environ(), "EVBENCH_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		wg.Wait()
	})
	ready := make(chan string, 1)
	listening := regexp.MustCompile(`listening on (\S+)`)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stderr) // keep the server's stderr drained
	}()
	select {
	case addr := <-ready:
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("refstore serve did not print its listening line within 10 s")
	}
	return ""
}
