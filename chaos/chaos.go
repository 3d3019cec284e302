package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Options configure New.
type Options struct {
	// External is the URL of a Toxiproxy server's API, e.g.
	// http://127.0.0.1:8474; "" runs Toxiproxy in-process (nothing to install).
	// The server must share this host's network: proxies listen on 127.0.0.1.
	External string
	// Logf receives one line per proxy created and fault applied or removed;
	// nil discards.
	Logf func(format string, args ...any)
	// RunID names this Chaos's proxies "evbench-<RunID>-<path>-<n>" so Close
	// on a shared external server deletes only its own; "" picks a random one.
	RunID string
}

// closeTimeout bounds Close even when an external server is slow or gone.
const closeTimeout = 5 * time.Second

// Chaos owns the proxies of one run and executes its fault timeline. All
// methods are safe for concurrent use.
type Chaos struct {
	runID string
	be    backend
	logf  func(string, ...any)

	// life is cancelled by Close: it stops fault goroutines and dials.
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// opMu serialises backend mutations (proxy creation with its catch-up
	// of active faults, fault apply and removal) so a proxy created during a
	// fault never misses it.
	opMu sync.Mutex

	mu      sync.Mutex
	closed  bool
	proxies map[string]*proxyEntry // key: path key + "|" + upstream
	order   []*proxyEntry
	nextN   int
	active  []*activeFault
	windows []*windowRec
	nextID  int

	closeOnce sync.Once
	closeErr  error
}

// New starts the fault layer. With Options.External it checks the server
// answers within a few seconds and returns an error otherwise (the runner
// exits 3 before any load starts).
func New(ctx context.Context, opts Options) (*Chaos, error) {
	var be backend
	if opts.External != "" {
		ext, err := newExternal(ctx, opts.External)
		if err != nil {
			return nil, err
		}
		be = ext
	} else {
		be = newInproc()
	}
	runID := opts.RunID
	if runID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	life, cancel := context.WithCancel(context.Background())
	return &Chaos{
		runID:   runID,
		be:      be,
		logf:    logf,
		life:    life,
		cancel:  cancel,
		proxies: map[string]*proxyEntry{},
	}, nil
}

// RunID is the id in this Chaos's proxy names.
func (c *Chaos) RunID() string { return c.runID }

// Close removes every toxic and every proxy this Chaos created (on an
// external server only those, never others'), closing their live
// connections, and stops the fault timeline. It is idempotent, safe to call
// concurrently (later callers wait for the first to finish), and bounded by
// a few seconds even when an external server is slow.
func (c *Chaos) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.doClose() })
	return c.closeErr
}

func (c *Chaos) doClose() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()

	// Wait for an in-flight backend operation, but never past the bound: a
	// stuck call must not keep proxies alive.
	locked := make(chan struct{})
	go func() { c.opMu.Lock(); close(locked) }()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	gotLock := false
	select {
	case <-locked:
		gotLock = true
	case <-timer.C:
	}

	type victim struct{ name, listen string }
	var victims []victim
	c.mu.Lock()
	for _, e := range c.order {
		if e.created {
			victims = append(victims, victim{e.name, e.listen})
		}
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var (
		emu  sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, e := range victims {
		wg.Add(1)
		go func(e victim) {
			defer wg.Done()
			if err := c.be.remove(ctx, e.name); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
				return
			}
			c.logf("chaos: removed proxy %s (%s)", e.name, e.listen)
		}(e)
	}
	wg.Wait()
	if gotLock {
		c.opMu.Unlock()
	} else {
		// Release the lock whenever the stuck call returns.
		go func() { <-locked; c.opMu.Unlock() }()
	}
	c.be.close()

	// Fault goroutines see life cancelled and skip their own removal.
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("chaos: close: %w", err)
	}
	return nil
}
