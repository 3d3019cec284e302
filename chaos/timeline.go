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

// activeFault is a fault currently applied to its paths' proxies.
type activeFault struct {
	id    int
	kind  string
	paths []string
	eff   effect
	win   *windowRec
}

func (af *activeFault) recordErr(err error) { af.win.addErr(err) }

// windowRec is one executed fault as reported by Windows.
type windowRec struct {
	mu    sync.Mutex
	w     measure.FaultWindow
	err   []string
	ended bool // removed (or cut by Close)
}

func (r *windowRec) addErr(err error) {
	r.mu.Lock()
	r.err = append(r.err, err.Error())
	r.mu.Unlock()
}

// removeTimeout bounds the removal of one fault's toxics (Toxiproxy may
// spend up to 5 s flushing a blocked link).
const removeTimeout = 10 * time.Second

// Start executes the fault timeline on the run's clock: fault i is applied
// at start+At and removed at start+At+For, whatever the load is doing.
// Overlapping faults compose (each fault's toxics have distinct names; two
// "down" faults keep the proxy down until both end); path "both" hits the
// producer and consumer proxies. Faults apply to proxies created later too.
// It validates every fault first and returns the first problem; otherwise
// it returns immediately and the faults run in goroutines until ctx ends,
// Close is called, or all are done. When ctx ends, active faults are removed.
func (c *Chaos) Start(ctx context.Context, start time.Time, faults []scenarios.Fault) error {
	effs := make([]effect, len(faults))
	for i, f := range faults {
		eff, err := compile(f)
		if err != nil {
			return fmt.Errorf("chaos: faults[%d]: %w", i, err)
		}
		effs[i] = eff
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.wg.Add(len(faults))
	c.mu.Unlock()
	runCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.life, cancel)
	var all sync.WaitGroup
	all.Add(len(faults))
	for i, f := range faults {
		go func() {
			defer c.wg.Done()
			defer all.Done()
			c.runFault(runCtx, start, f, effs[i])
		}()
	}
	go func() { all.Wait(); stop(); cancel() }()
	return nil
}

func (c *Chaos) runFault(ctx context.Context, start time.Time, f scenarios.Fault, eff effect) {
	if !pace.SleepUntil(ctx, start.Add(f.At.D())) {
		return
	}
	c.mu.Lock()
	c.nextID++
	params := map[string]any{}
	for k, v := range f.Params {
		params[k] = v
	}
	if f.Toxicity != nil {
		params["toxicity"] = *f.Toxicity
	}
	if len(params) == 0 {
		params = nil
	}
	began := time.Now()
	rec := &windowRec{w: measure.FaultWindow{
		Kind: f.Kind, Path: f.Path, AtS: began.Sub(start).Seconds(), ForS: f.For.D().Seconds(), Params: params,
	}}
	af := &activeFault{id: c.nextID, kind: f.Kind, paths: expandPath(f.Path), eff: eff, win: rec}
	c.mu.Unlock()

	c.apply(af)
	c.mu.Lock()
	c.windows = append(c.windows, rec) // visible once in effect
	c.mu.Unlock()
	c.logf("chaos: fault %d %s on %s started at %.3fs", af.id, f.Kind, f.Path, rec.w.AtS)
	pace.SleepUntil(ctx, start.Add(f.At.D()+f.For.D()))
	if c.life.Err() != nil {
		// Close removes the proxies (and their toxics) wholesale.
		c.finish(rec, began)
		return
	}
	c.remove(af)
	c.finish(rec, began)
	c.logf("chaos: fault %d %s on %s ended after %.3fs", af.id, f.Kind, f.Path, rec.w.ForS)
}

// finish records the window's actual length.
func (c *Chaos) finish(rec *windowRec, began time.Time) {
	rec.mu.Lock()
	rec.w.ForS = time.Since(began).Seconds()
	rec.ended = true
	rec.mu.Unlock()
}

// apply marks af active and applies it to every existing proxy of its paths.
func (c *Chaos) apply(af *activeFault) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.active = append(c.active, af)
	entries := c.entriesLocked(af.paths)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.life, closeTimeout)
	defer cancel()
	for _, e := range entries {
		if err := c.applyTo(ctx, e, af); err != nil {
			af.recordErr(err)
		}
	}
}

// remove deactivates af and removes it from every proxy it was applied to.
func (c *Chaos) remove(af *activeFault) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	for i, a := range c.active {
		if a == af {
			c.active = append(c.active[:i], c.active[i+1:]...)
			break
		}
	}
	entries := c.entriesLocked(af.paths)
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	// Derived from life: once Close runs, the proxies go wholesale and a
	// slow removal must not hold it up.
	ctx, cancel := context.WithTimeout(c.life, removeTimeout)
	defer cancel()
	for _, e := range entries {
		if err := c.removeFrom(ctx, e, af); err != nil {
			af.recordErr(err)
		}
	}
}

func (c *Chaos) entriesLocked(paths []string) []*proxyEntry {
	var out []*proxyEntry
	for _, e := range c.order {
		if e.created && e.hits(paths) {
			out = append(out, e)
		}
	}
	return out
}

// resolve fixes a toxic for one proxy: the "data" stream becomes that
// proxy's data direction, and the name is unique per fault and stream.
func resolve(e *proxyEntry, af *activeFault, t toxicSpec) toxicSpec {
	if t.Stream == streamData {
		t.Stream = "upstream"
		if e.paths[PathConsumer] && !e.paths[PathProducer] {
			t.Stream = "downstream"
		}
	}
	t.Name = fmt.Sprintf("evbench-f%d-%s_%s", af.id, t.Type, t.Stream)
	return t
}

// applyTo applies af to one proxy; the caller holds opMu.
func (c *Chaos) applyTo(ctx context.Context, e *proxyEntry, af *activeFault) error {
	var errs []error
	for _, t := range af.eff.toxics {
		if err := c.be.addToxic(ctx, e.name, resolve(e, af, t)); err != nil {
			errs = append(errs, err)
		}
	}
	if af.eff.down {
		e.down++
		if e.down == 1 {
			if err := c.be.setEnabled(ctx, e.name, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeFrom undoes applyTo; the caller holds opMu.
func (c *Chaos) removeFrom(ctx context.Context, e *proxyEntry, af *activeFault) error {
	var errs []error
	for _, t := range af.eff.toxics {
		if err := c.be.removeToxic(ctx, e.name, resolve(e, af, t).Name); err != nil {
			errs = append(errs, err)
		}
	}
	if af.eff.down && e.down > 0 {
		e.down--
		if e.down == 0 {
			if err := c.be.setEnabled(ctx, e.name, true); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// endedLen is the number of faults fully removed (for tests).
func (c *Chaos) endedLen() int {
	c.mu.Lock()
	recs := append([]*windowRec(nil), c.windows...)
	c.mu.Unlock()
	n := 0
	for _, r := range recs {
		r.mu.Lock()
		if r.ended {
			n++
		}
		r.mu.Unlock()
	}
	return n
}

// Windows reports the executed faults (in effect so far), ordered by start:
// kind, path, at_s and for_s as measured on the run's clock (for_s is the
// planned length while a fault is still active), params, and the error if
// applying or removing failed. It is what result.json's "faults" holds.
func (c *Chaos) Windows() []measure.FaultWindow {
	c.mu.Lock()
	recs := append([]*windowRec(nil), c.windows...)
	c.mu.Unlock()
	out := make([]measure.FaultWindow, 0, len(recs))
	for _, r := range recs {
		r.mu.Lock()
		w := r.w
		if len(r.err) > 0 {
			w.Error = strings.Join(r.err, "; ")
		}
		r.mu.Unlock()
		out = append(out, w)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AtS < out[j].AtS })
	return out
}
