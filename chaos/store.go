package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evbench/evbench/internal/pace"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// PathStore is the path of faults that act on the store itself (its
// process and its disk) rather than on a network path. They need a managed
// store: a child process evbench started and controls.
const PathStore = "store"

// StoreControl is what store faults act on: a managed store (the runner
// adapts chaos/supervisor to it). Disk methods fail when the store's data
// is not on the fault filesystem (HasFaultFS false).
type StoreControl interface {
	Kill() error
	Stop() error
	Cont() error
	Restart(ctx context.Context) error
	Start(ctx context.Context) error
	// PowerLoss kills the store and discards every write not covered by an
	// fsync (optionally tearing the last one); it returns a one-line report.
	PowerLoss(ctx context.Context, tear bool) (string, error)
	DiskSlow(fsyncLatency, writeLatency time.Duration, bandwidth int64, iops int) error
	DiskError(op string, toxicity float64) error
	DiskFull(free int64) error
	DiskClear() error
	HasFaultFS() bool
}

// storeFault is one kind of store fault: parsed parameters, what happens at
// the fault's start, and what at its end (which is at + Length).
type storeFault interface {
	parse(r *paramReader, f scenarios.Fault)
	// begin acts when the fault starts; end undoes it (restarts, resumes,
	// clears) when it ends.
	begin(ctx context.Context, s StoreControl) (note string, err error)
	end(ctx context.Context, s StoreControl) error
	// length is how long the fault lasts (for, or restart_after).
	length() time.Duration
	// disk reports whether the kind needs the fault filesystem.
	disk() bool
	// losesProcess reports whether the store process is gone during the
	// fault (kill, power-loss, restart): what RTO is measured for.
	losesProcess() bool
}

var storeKinds = map[string]func() storeFault{}

// registerStore adds a store fault kind; called from each fault_<kind>.go.
func registerStore(name string, newKind func() storeFault) {
	if _, dup := storeKinds[name]; dup {
		panic("chaos: store fault kind registered twice: " + name)
	}
	if _, dup := kinds[name]; dup {
		panic("chaos: store fault kind shadows a network kind: " + name)
	}
	storeKinds[name] = newKind
}

// StoreKinds lists the store fault kinds, sorted.
func StoreKinds() []string {
	names := make([]string, 0, len(storeKinds))
	for n := range storeKinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsStoreFault reports whether f acts on the store (path: store).
func IsStoreFault(f scenarios.Fault) bool { return f.Path == PathStore }

// StoreFaults returns the faults of a timeline that act on the store.
func StoreFaults(faults []scenarios.Fault) []scenarios.Fault {
	var out []scenarios.Fault
	for _, f := range faults {
		if IsStoreFault(f) {
			out = append(out, f)
		}
	}
	return out
}

// NetworkFaults returns the faults that act on network paths.
func NetworkFaults(faults []scenarios.Fault) []scenarios.Fault {
	var out []scenarios.Fault
	for _, f := range faults {
		if !IsStoreFault(f) && !IsConsumerFault(f) {
			out = append(out, f)
		}
	}
	return out
}

// NeedsFaultFS reports whether any store fault needs the fault filesystem
// (power-loss and the disk kinds).
func NeedsFaultFS(faults []scenarios.Fault) bool {
	for _, f := range StoreFaults(faults) {
		if k, err := compileStore(f); err == nil && k.disk() {
			return true
		}
	}
	return false
}

// StoreFaultSpan is when a store fault starts and when the store is back
// (at + its length), for the runner's RTO and catch-up accounting.
func StoreFaultSpan(f scenarios.Fault) (start, end time.Duration, losesProcess bool) {
	k, err := compileStore(f)
	if err != nil {
		return f.At.D(), f.At.D() + f.For.D(), false
	}
	return f.At.D(), f.At.D() + k.length(), k.losesProcess()
}

// compileStore validates a store fault and returns its kind.
func compileStore(f scenarios.Fault) (storeFault, error) {
	newKind, ok := storeKinds[f.Kind]
	if !ok {
		if _, network := kinds[f.Kind]; network {
			return nil, fmt.Errorf("kind: %s acts on a network path, not on the store; write path: producer, consumer or both, or a store kind (%s)", f.Kind, strings.Join(StoreKinds(), ", "))
		}
		return nil, fmt.Errorf("kind: unknown store fault kind %q (store kinds: %s)", f.Kind, strings.Join(StoreKinds(), ", "))
	}
	if f.At < 0 {
		return nil, fmt.Errorf("at: %s is negative; write 0s or later", f.At)
	}
	if f.For < 0 {
		return nil, fmt.Errorf("for: %s is negative; write e.g. for: 5s", f.For)
	}
	if f.Toxicity != nil && f.Kind != "disk-error" {
		return nil, fmt.Errorf("toxicity: not supported by store kind %s; remove it", f.Kind)
	}
	k := newKind()
	r := &paramReader{params: f.Params}
	k.parse(r, f)
	if err := r.finish(f.Kind); err != nil {
		return nil, err
	}
	return k, nil
}

// CheckStoreFaults refuses store faults the store cannot take, before any
// load starts: no managed store, or disk faults without the fault
// filesystem.
func CheckStoreFaults(faults []scenarios.Fault, managed, faultFS bool) error {
	for i, f := range StoreFaults(faults) {
		k, err := compileStore(f)
		if err != nil {
			return fmt.Errorf("faults[%d]: %w", i, err)
		}
		if !managed {
			return fmt.Errorf("fault %s on path store needs a store evbench controls: pass --managed (the embedded refstore is managed automatically)", f.Kind)
		}
		if k.disk() && !faultFS {
			return fmt.Errorf("fault %s needs the store's data on the fault filesystem (FUSE), which is not mounted", f.Kind)
		}
	}
	return nil
}

// StoreTimeline runs store faults on the run's clock.
type StoreTimeline struct {
	mu      sync.Mutex
	windows []*windowRec
	wg      sync.WaitGroup
}

// StartStoreFaults runs every store fault of faults against s: fault i
// begins at start+At and ends at start+At+length. Faults run one at a time
// in order of their start (a store cannot be killed while it is stopped);
// a fault whose start has passed when the previous one ended starts late
// and its window says when it really ran. It returns at once.
func StartStoreFaults(ctx context.Context, start time.Time, faults []scenarios.Fault, s StoreControl, logf func(string, ...any)) (*StoreTimeline, error) {
	fs := StoreFaults(faults)
	ks := make([]storeFault, len(fs))
	for i, f := range fs {
		k, err := compileStore(f)
		if err != nil {
			return nil, fmt.Errorf("chaos: store faults[%d]: %w", i, err)
		}
		ks[i] = k
	}
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return fs[order[a]].At < fs[order[b]].At })
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t := &StoreTimeline{}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for _, i := range order {
			if !t.run(ctx, start, fs[i], ks[i], s, logf) {
				return
			}
		}
	}()
	return t, nil
}

// endTimeout bounds undoing a fault (a restart) once the run is over.
const endTimeout = 60 * time.Second

func (t *StoreTimeline) run(ctx context.Context, start time.Time, f scenarios.Fault, k storeFault, s StoreControl, logf func(string, ...any)) bool {
	if !pace.SleepUntil(ctx, start.Add(f.At.D())) {
		return false
	}
	params := map[string]any{}
	for key, v := range f.Params {
		params[key] = v
	}
	if f.Toxicity != nil {
		params["toxicity"] = *f.Toxicity
	}
	if len(params) == 0 {
		params = nil
	}
	began := time.Now()
	rec := &windowRec{w: measure.FaultWindow{Kind: f.Kind, Path: PathStore, AtS: began.Sub(start).Seconds(), ForS: k.length().Seconds(), Params: params}}
	t.mu.Lock()
	t.windows = append(t.windows, rec)
	t.mu.Unlock()
	note, err := k.begin(ctx, s)
	if err != nil {
		rec.addErr(err)
		logf("chaos: store fault %s at %.3fs failed: %v", f.Kind, rec.w.AtS, err)
	} else {
		logf("chaos: store fault %s at %.3fs%s", f.Kind, rec.w.AtS, prefixed(note))
	}
	if note != "" {
		rec.mu.Lock()
		if rec.w.Params == nil {
			rec.w.Params = map[string]any{}
		}
		rec.w.Params["report"] = note
		rec.mu.Unlock()
	}
	ok := pace.SleepUntil(ctx, began.Add(k.length()))
	// Undo even when the run is being stopped: a killed or stopped store
	// must come back so the drain, the delivery check and the cleanup
	// find it running.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	if err := k.end(ectx, s); err != nil {
		rec.addErr(err)
		logf("chaos: store fault %s: ending it failed: %v", f.Kind, err)
	}
	cancel()
	rec.mu.Lock()
	rec.w.ForS = time.Since(began).Seconds()
	rec.ended = true
	rec.mu.Unlock()
	return ok
}

func prefixed(note string) string {
	if note == "" {
		return ""
	}
	return ": " + note
}

// Wait blocks until every store fault ended (each bounded by its length
// and endTimeout once ctx ended).
func (t *StoreTimeline) Wait() { t.wg.Wait() }

// Windows reports the store faults that ran, with measured start and
// length and the errors of acting on the store.
func (t *StoreTimeline) Windows() []measure.FaultWindow {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]measure.FaultWindow, 0, len(t.windows))
	for _, r := range t.windows {
		r.mu.Lock()
		w := r.w
		if len(r.err) > 0 {
			w.Error = strings.Join(r.err, "; ")
		}
		r.mu.Unlock()
		out = append(out, w)
	}
	return out
}

// errNoFaultFS is returned by disk faults on a store without the fault
// filesystem (CheckStoreFaults refuses such scenarios up front).
var errNoFaultFS = errors.New("the store's data is not on the fault filesystem")
