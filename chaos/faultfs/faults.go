package faultfs

import (
	"context"
	"math/rand/v2"
	"syscall"
	"time"
)

// Slow throttles the storage. Zero fields are off.
type Slow struct {
	// FsyncLatency is added to every fsync and fdatasync (of files and of
	// directories), before the real one.
	FsyncLatency time.Duration
	// WriteLatency is added to every write request (one FUSE WRITE, at most
	// 128 KiB), before the data lands.
	WriteLatency time.Duration
	// Bandwidth caps the bytes written per second, over all files; 0 = none.
	Bandwidth int64
	// IOPS caps write requests plus fsyncs per second, over all files; 0 = none.
	IOPS int
}

// Errors makes one kind of operation fail with EIO.
type Errors struct {
	// Op is "write" or "fsync" (fsync covers fdatasync and directory fsync).
	Op string
	// Toxicity is the probability, per call, that the call fails: 0 turns the
	// fault off, 1 fails every call.
	Toxicity float64
}

// faults is the live fault configuration; guarded by FS.faultMu.
type faults struct {
	slow      Slow
	writeTox  float64
	fsyncTox  float64
	bwPacer   pacer
	iopsPacer pacer
	injected  int64 // EIOs returned
	enospcs   int64 // ENOSPCs returned
	throttled time.Duration
}

// SetSlow replaces the throttling configuration; it applies to calls that
// start after it returns.
func (f *FS) SetSlow(s Slow) {
	f.faultMu.Lock()
	f.faults.slow = s
	f.faultMu.Unlock()
}

// SetErrors sets the EIO toxicity of one operation, leaving the other's as
// it is. An unknown Op is logged and ignored.
func (f *FS) SetErrors(e Errors) {
	tox := min(max(e.Toxicity, 0), 1)
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	switch e.Op {
	case "write":
		f.faults.writeTox = tox
	case "fsync":
		f.faults.fsyncTox = tox
	default:
		f.logf("faultfs: SetErrors: unknown op %q (want \"write\" or \"fsync\"), ignored", e.Op)
	}
}

// Clear turns every fault off: throttling, errors and the quota. It does not
// touch the volatile layer: unsynced writes stay volatile.
func (f *FS) Clear() {
	f.faultMu.Lock()
	f.faults.slow = Slow{}
	f.faults.writeTox, f.faults.fsyncTox = 0, 0
	f.faultMu.Unlock()
	f.SetQuota(0)
}

// Stats counts what the faults did since Mount.
type Stats struct {
	EIO       int64         // calls failed with an injected EIO
	ENOSPC    int64         // writes refused by the quota
	Throttled time.Duration // total delay added by Slow
}

// Stats returns the fault counters.
func (f *FS) Stats() Stats {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	return Stats{EIO: f.faults.injected, ENOSPC: f.faults.enospcs, Throttled: f.faults.throttled}
}

// beforeWrite applies latency, throttling and EIO for a write of n bytes.
func (f *FS) beforeWrite(ctx context.Context, n int) syscall.Errno {
	f.faultMu.Lock()
	s := f.faults.slow
	var wait time.Duration
	now := time.Now()
	until := now.Add(s.WriteLatency)
	if s.Bandwidth > 0 {
		until = later(until, f.faults.bwPacer.reserve(now, time.Duration(float64(n)*float64(time.Second)/float64(s.Bandwidth))))
	}
	if s.IOPS > 0 {
		until = later(until, f.faults.iopsPacer.reserve(now, time.Second/time.Duration(s.IOPS)))
	}
	wait = until.Sub(now)
	f.faults.throttled += wait
	return f.inject(ctx, wait, f.faults.writeTox)
}

// beforeFsync applies latency, the IOPS cap and EIO for one fsync.
func (f *FS) beforeFsync(ctx context.Context) syscall.Errno {
	f.faultMu.Lock()
	s := f.faults.slow
	now := time.Now()
	until := now.Add(s.FsyncLatency)
	if s.IOPS > 0 {
		until = later(until, f.faults.iopsPacer.reserve(now, time.Second/time.Duration(s.IOPS)))
	}
	wait := until.Sub(now)
	f.faults.throttled += wait
	return f.inject(ctx, wait, f.faults.fsyncTox)
}

// inject ends a call's fault check (f.faultMu held, released here): it
// draws the EIO with probability tox, sleeps the throttle wait outside the
// lock, then fails or lets the call go on.
func (f *FS) inject(ctx context.Context, wait time.Duration, tox float64) syscall.Errno {
	fail := tox > 0 && rand.Float64() < tox
	if fail {
		f.faults.injected++
	}
	f.faultMu.Unlock()
	if errno := sleep(ctx, wait); errno != 0 {
		return errno
	}
	if fail {
		return syscall.EIO
	}
	return 0
}

// pacer spaces operations so that each costs d of a shared timeline: the
// operation may complete at the returned time. No burst is allowed beyond
// the idle slack being dropped.
type pacer struct {
	next time.Time
}

func (p *pacer) reserve(now time.Time, d time.Duration) time.Time {
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(d)
	return p.next
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sleep waits d, or returns EINTR when the kernel interrupts the request.
func sleep(ctx context.Context, d time.Duration) syscall.Errno {
	if d <= 0 {
		return 0
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-ctx.Done():
		return syscall.EINTR
	}
}
