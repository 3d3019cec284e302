package pace

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

var (
	benchKinds = []string{kindTimerfd, kindTimer, kindNanosleep}
	benchRates = []struct {
		name     string
		interval time.Duration
	}{{"1k", time.Millisecond}, {"10k", 100 * time.Microsecond}}
)

// BenchmarkLateness paces one goroutine open-loop at 1,000 and 10,000 waits/s,
// as the generator does (due = start + i·interval, whatever happened before),
// and reports how late Until returns: p50/p99/max in µs, the share of waits
// whose due had already passed (behind-%), and the process CPU per wait.
func BenchmarkLateness(b *testing.B) {
	for _, kind := range benchKinds {
		for _, r := range benchRates {
			b.Run(kind+"/"+r.name, func(b *testing.B) {
				benchLateness(b, kind, r.interval, true)
			})
		}
	}
}

// BenchmarkLatenessWithEcho is BenchmarkLateness with a loopback TCP echo
// ping-pong (64 B, one in flight) in the same process, standing in for the
// goroutines that read acks. It also reports the echo round trip (echo-p50-µs,
// echo-p99-µs) and rate (echo-k/s); "none" is the echo without any waiter.
func BenchmarkLatenessWithEcho(b *testing.B) {
	b.Run("none", func(b *testing.B) {
		stop := startEcho(b)
		for b.Loop() {
			time.Sleep(10 * time.Millisecond)
		}
		stop()
	})
	for _, kind := range benchKinds {
		for _, r := range benchRates {
			b.Run(kind+"/"+r.name, func(b *testing.B) {
				stop := startEcho(b)
				benchLateness(b, kind, r.interval, false)
				stop()
			})
		}
	}
}

// benchLateness paces with a waiter of the kind; reportCPU adds the process
// CPU per wait (meaningless beside the echo, which burns a core).
func benchLateness(b *testing.B, kind string, interval time.Duration, reportCPU bool) {
	w, err := New(kind)
	if err != nil {
		b.Skip(err)
	}
	defer w.Close()
	if kind == kindNanosleep { // as its doc asks
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	// A cancellable context, like the generator's, so that the cost of
	// watching it is included.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	late := hdrhistogram.New(1, int64(10*time.Second), 3)
	var start time.Time
	var i, behind int64
	var cpu0 time.Duration
	for b.Loop() {
		if i == 0 {
			cpu0 = processCPU()
			start = time.Now().Add(interval)
		}
		due := start.Add(time.Duration(i) * interval)
		i++
		if !time.Now().Before(due) {
			behind++
		}
		if !w.Until(ctx, due) {
			b.Fatal("Until returned false")
		}
		late.RecordValue(int64(time.Since(due)))
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(late.ValueAtQuantile(50))/1e3, "p50-µs")
	b.ReportMetric(float64(late.ValueAtQuantile(99))/1e3, "p99-µs")
	b.ReportMetric(float64(late.Max())/1e3, "max-µs")
	b.ReportMetric(100*float64(behind)/float64(i), "behind-%")
	if reportCPU {
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(i), "cpu-µs/op")
	}
}

// startEcho runs a loopback TCP echo server and a client ping-ponging 64 B
// through it, back to back, until stop is called; stop reports the client's
// round-trip times on b.
func startEcho(b *testing.B) (stop func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var server, client sync.WaitGroup
	server.Add(1)
	go func() { // server
		defer server.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	rtt := hdrhistogram.New(1, int64(10*time.Second), 3)
	var done atomic.Bool
	t0 := time.Now()
	client.Add(1)
	go func() { // client
		defer client.Done()
		buf := make([]byte, 64)
		for !done.Load() {
			t0 := time.Now()
			if _, err := c.Write(buf); err != nil {
				return
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			rtt.RecordValue(int64(time.Since(t0)))
		}
	}()
	return func() {
		done.Store(true)
		client.Wait() // it stops after the round trip in flight
		elapsed := time.Since(t0)
		c.Close()
		ln.Close()
		server.Wait()
		b.ReportMetric(float64(rtt.ValueAtQuantile(50))/1e3, "echo-p50-µs")
		b.ReportMetric(float64(rtt.ValueAtQuantile(99))/1e3, "echo-p99-µs")
		b.ReportMetric(float64(rtt.TotalCount())/elapsed.Seconds()/1e3, "echo-k/s")
	}
}
