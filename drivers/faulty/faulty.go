// Package faulty is an in-process store that breaks one promise on
// purpose, so the delivery check can be seen to fire: run any scenario
// with --driver faulty --dsn 'faulty://?fault=duplicate' and the run must
// fail with that verdict (exit 1). It wraps the memory driver; each fault
// touches one event in every `every` (default 100):
//
//	lose       acknowledges an append but does not store the event
//	duplicate  delivers the event twice
//	swap       delivers the event after the next event of its key (or in
//	           order when none comes within 200 ms: never lost)
//	late       starts every subscription `delay` (default 1m) late, so
//	           the projectors cannot reach the head before the drain ends
//	misroute   stores the event under another key
package faulty

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/memory"
)

// Faults the driver can inject.
var Faults = []string{"lose", "duplicate", "swap", "late", "misroute"}

const dsnExample = "faulty://?fault=duplicate&every=100"

func init() {
	drivers.Register(drivers.Registration{
		Name:        "faulty",
		Description: "memory store that breaks one promise on purpose (fault=" + strings.Join(Faults, "|") + "): shows the delivery check fires",
		DSNExample:  dsnExample,
		InProcess:   true,
		Open:        open,
		CheckDSN:    func(dsn string) error { _, err := parseDSN(dsn); return err },
	})
}

// config is a parsed faulty:// DSN.
type config struct {
	store string // names the underlying memory store; "" = shared default
	fault string
	every int64
	delay time.Duration
}

func parseDSN(dsn string) (config, error) {
	cfg := config{every: 100, delay: time.Minute}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "faulty" {
		return cfg, fmt.Errorf("faulty: DSN %s: want e.g. %s", drivers.RedactDSN(dsn), dsnExample)
	}
	cfg.store = u.Host + u.Path
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "fault":
			cfg.fault = v
		case "every":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return cfg, fmt.Errorf("faulty: DSN parameter every=%q: want a whole number >= 1, e.g. every=100", v)
			}
			cfg.every = n
		case "delay":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("faulty: DSN parameter delay=%q: want a positive duration, e.g. delay=1m", v)
			}
			cfg.delay = d
		default:
			return cfg, fmt.Errorf("faulty: DSN parameter %q is unknown; known: fault, every, delay", k)
		}
	}
	for _, f := range Faults {
		if f == cfg.fault {
			return cfg, nil
		}
	}
	return cfg, fmt.Errorf("faulty: DSN parameter fault=%q: want one of %s, e.g. %s", cfg.fault, strings.Join(Faults, ", "), dsnExample)
}

// shared keeps one fault counter per store, so a producer and a consumer
// opened separately count the same events.
var (
	sharedMu sync.Mutex
	shared   = map[string]*atomic.Int64{}
)

func open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	mem, err := drivers.Lookup("memory")
	if err != nil {
		return nil, err
	}
	inner, err := mem.Open(ctx, "memory://faulty-"+cfg.store, opts)
	if err != nil {
		return nil, err
	}
	sharedMu.Lock()
	n := shared[cfg.store]
	if n == nil || opts.Reset {
		n = &atomic.Int64{}
		shared[cfg.store] = n
	}
	sharedMu.Unlock()
	return &Driver{inner: inner.(*memory.Driver), cfg: cfg, n: n}, nil
}

// Driver is a memory store with one fault.
type Driver struct {
	inner *memory.Driver
	cfg   config
	n     *atomic.Int64 // events the fault has counted
}

// hit reports whether the next counted event is one the fault touches.
func (d *Driver) hit() bool { return d.n.Add(1)%d.cfg.every == 0 }

// Append stores the batch, losing or misrouting one event in every
// `every` when that is the fault; it acknowledges every event either way.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	switch d.cfg.fault {
	case "lose":
		kept := make([]drivers.Event, 0, len(batch))
		for _, e := range batch {
			if !d.hit() {
				kept = append(kept, e)
			}
		}
		pos := make([]drivers.Position, len(batch))
		if len(kept) > 0 {
			p, err := d.inner.Append(ctx, kept)
			if err != nil {
				return nil, err
			}
			for i := range pos {
				pos[i] = p[min(i, len(p)-1)]
			}
		}
		return pos, nil
	case "misroute":
		out := append([]drivers.Event(nil), batch...)
		for i := range out {
			if d.hit() {
				out[i].Key += "-misrouted"
			}
		}
		return d.inner.Append(ctx, out)
	}
	return d.inner.Append(ctx, batch)
}

// AppendAsync answers synchronously, as the memory driver does, but
// through this driver's Append so its fault applies.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	done(d.Append(ctx, batch))
}

// Subscribe delivers from the memory store, duplicating, swapping or
// delaying when that is the fault.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	switch d.cfg.fault {
	case "late":
		select {
		case <-time.After(d.cfg.delay):
		case <-ctx.Done():
			return nil
		}
	case "duplicate":
		return d.inner.Subscribe(ctx, from, func(b []drivers.Delivered) error {
			out := make([]drivers.Delivered, 0, len(b)+1)
			for _, e := range b {
				out = append(out, e)
				if d.hit() {
					out = append(out, e)
				}
			}
			return deliver(out)
		})
	case "swap":
		return d.subscribeSwapped(ctx, from, deliver)
	}
	return d.inner.Subscribe(ctx, from, deliver)
}

// swapRelease is how long swap waits for a later event of a held event's
// key before it gives up and delivers everything in order: a held event
// is never lost, and the projectors' lag stays above 0 while one is held
// (later events wait behind it), so the drain cannot end in between.
const swapRelease = 200 * time.Millisecond

// subscribeSwapped holds one event in every `every` back, with every event
// after it, until the next event of its key arrives, then delivers that
// one first: a reorder within the key. deliver is never called
// concurrently (the release timer takes the same lock).
func (d *Driver) subscribeSwapped(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	var (
		mu    sync.Mutex
		held  *drivers.Delivered
		after []drivers.Delivered
		gen   int
	)
	release := func(g int) {
		mu.Lock()
		defer mu.Unlock()
		if held == nil || g != gen || ctx.Err() != nil {
			return
		}
		out := append([]drivers.Delivered{*held}, after...)
		held, after = nil, nil
		deliver(out) // the subscription goes on; its error surfaces there
	}
	return d.inner.Subscribe(ctx, from, func(b []drivers.Delivered) error {
		mu.Lock()
		defer mu.Unlock()
		out := make([]drivers.Delivered, 0, len(b)+len(after)+1)
		for _, e := range b {
			switch {
			case held != nil && held.Key == e.Key:
				out = append(append(out, after...), e, *held)
				held, after = nil, nil
			case held != nil:
				after = append(after, e)
			case d.hit():
				h := e
				held = &h
				gen++
				g := gen
				time.AfterFunc(swapRelease, func() { release(g) })
			default:
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return deliver(out)
	})
}

// Head is the memory store's.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) { return d.inner.Head(ctx) }

// Close closes the memory connection.
func (d *Driver) Close() error { return d.inner.Close() }

// BatchAtomic: losing one event of a batch breaks atomicity on purpose.
func (d *Driver) BatchAtomic() bool { return d.cfg.fault != "lose" }

// Describe names the fault, for the result's environment.
func (d *Driver) Describe() string {
	return fmt.Sprintf("faulty (memory store, fault=%s every=%d: a deliberately broken store)", d.cfg.fault, d.cfg.every)
}
