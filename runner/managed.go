package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/evbench/evbench/chaos"
	"github.com/evbench/evbench/chaos/faultfs"
	"github.com/evbench/evbench/chaos/supervisor"
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/scenarios"
)

// ManagedFor says whether a run needs a managed store and why not when it
// cannot have one: asked with --managed, or store faults on the embedded
// refstore (which then becomes managed automatically). It is what the CLI
// checks before anything starts, so these problems are usage errors.
func ManagedFor(driver, dsn string, managed bool, sc *scenarios.Scenario) (bool, error) {
	store := chaos.StoreFaults(sc.Faults)
	if !managed && len(store) > 0 && dsn == "" && driver == "refstore" {
		managed = true
	}
	if managed {
		if dsn != "" {
			return false, fmt.Errorf("--managed and --dsn exclude each other: a managed store is one evbench starts, with its own DSN")
		}
		if err := supervisor.Supported(driver); err != nil {
			return false, err
		}
	}
	if err := chaos.CheckStoreFaults(store, managed, true); err != nil {
		return false, err
	}
	if managed && chaos.NeedsFaultFS(store) {
		if err := faultfs.Available(); err != nil {
			return false, fmt.Errorf("%w: scenario %s: its store faults need the fault filesystem: %w", ErrNoFaultFS, sc.Name, err)
		}
	}
	return managed, nil
}

// ErrNoFaultFS marks a run refused because this machine cannot mount the
// fault filesystem (no FUSE, not root): the machine's limit, not a usage
// error (the CLI exits 3).
var ErrNoFaultFS = errors.New("fault filesystem unavailable")

// startManaged starts the driver's store as a child process.
func (r *run) startManaged(ctx context.Context) (*supervisor.Store, error) {
	bin := r.cfg.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("managed store: find the evbench binary: %w", err)
		}
		bin = exe
	}
	return supervisor.Start(ctx, supervisor.Spec{
		Driver: r.cfg.Driver, DataDir: r.cfg.DataDir, KeepData: r.cfg.KeepData,
		FaultFS: chaos.NeedsFaultFS(r.sc.Faults), Params: r.cfg.ManagedParams,
		Binary: bin, Logf: r.cfg.Logf,
	})
}

// storeControl adapts a managed store to what chaos's store faults act on.
type storeControl struct{ s *supervisor.Store }

func (c storeControl) Kill() error                       { return c.s.Kill() }
func (c storeControl) Stop() error                       { return c.s.Stop() }
func (c storeControl) Cont() error                       { return c.s.Cont() }
func (c storeControl) Restart(ctx context.Context) error { return c.s.Restart(ctx) }
func (c storeControl) Start(ctx context.Context) error   { return c.s.Start(ctx) }
func (c storeControl) HasFaultFS() bool                  { return c.s.FS() != nil }
func (c storeControl) PowerLoss(ctx context.Context, tear bool) (string, error) {
	rep, err := c.s.PowerLoss(ctx, tear)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("discarded %d unsynced bytes in %d file(s)%s", rep.BytesDiscarded, rep.Files, map[bool]string{true: ", last write torn"}[rep.Torn]), nil
}

func (c storeControl) fs() (*faultfs.FS, error) {
	if fs := c.s.FS(); fs != nil {
		return fs, nil
	}
	return nil, fmt.Errorf("the store's data is not on the fault filesystem")
}

func (c storeControl) DiskSlow(fsyncLat, writeLat time.Duration, bandwidth int64, iops int) error {
	fs, err := c.fs()
	if err == nil {
		fs.SetSlow(faultfs.Slow{FsyncLatency: fsyncLat, WriteLatency: writeLat, Bandwidth: bandwidth, IOPS: iops})
	}
	return err
}

func (c storeControl) DiskError(op string, toxicity float64) error {
	fs, err := c.fs()
	if err == nil {
		fs.SetErrors(faultfs.Errors{Op: op, Toxicity: toxicity})
	}
	return err
}

func (c storeControl) DiskFull(free int64) error {
	fs, err := c.fs()
	if err == nil {
		fs.SetQuota(fs.Used() + free)
	}
	return err
}

func (c storeControl) DiskClear() error {
	fs, err := c.fs()
	if err == nil {
		fs.Clear()
		fs.SetQuota(0)
	}
	return err
}

// durability labels the result: a managed store's own configuration, or
// what the driver reads from its store.
func (r *run) durability(ctx context.Context, producer drivers.Driver) *drivers.Durability {
	if r.managed != nil {
		d := r.managed.Durability()
		return &d
	}
	d := askDurability(ctx, producer, r.scrub)
	// An embedded store knows its own configuration; the driver may not
	// see it over the wire (refstore's handshake does not carry the sync
	// mode). The driver's answer wins when it has one: it knows the DSN.
	if d.AckAfterFsync == drivers.AckAfterFsyncUnknown && r.embedded != nil {
		if e := askDurability(ctx, r.embedded, r.scrub); e.AckAfterFsync != drivers.AckAfterFsyncUnknown {
			d = e
		}
	}
	return &d
}

// askDurability asks x (a driver or an embedded store) what an ack means.
func askDurability(ctx context.Context, x any, scrub func(string) string) drivers.Durability {
	dr, ok := x.(drivers.DurabilityReporter)
	if !ok {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Detail: "the driver does not report it", Source: "none"}
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d, err := dr.Durability(dctx)
	if err != nil {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Detail: scrub(err.Error()), Source: "error"}
	}
	return d
}
