package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/evbench/evbench/drivers"
)

// proxyEntry is one proxy: an upstream address seen by one or more paths.
type proxyEntry struct {
	key      string
	name     string
	upstream string
	listen   string
	paths    map[string]bool
	down     int  // active "down" faults; the proxy is disabled while > 0
	created  bool // exists in the backend
	ready    chan struct{}
	err      error
}

func (e *proxyEntry) hits(paths []string) bool {
	for _, p := range paths {
		if e.paths[p] {
			return true
		}
	}
	return false
}

// ErrClosed is returned by dials and Start after Close.
var ErrClosed = errors.New("chaos: closed")

// Dialer returns a drivers.DialFunc for path "producer" or "consumer" (or
// "both" for one proxy shared by both paths). Every connection opened with it
// goes through a proxy of that path: the first dial to an upstream host:port
// creates the proxy (listening on 127.0.0.1:0) with the path's active faults
// already applied, and later dials to that address reuse it. Only loopback
// upstreams (127.0.0.1, localhost, ::1) are allowed.
func (c *Chaos) Dialer(path string) drivers.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := checkPath(path); err != nil {
			return nil, err
		}
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return nil, fmt.Errorf("chaos: dial %s %s: only tcp can be proxied", network, addr)
		}
		e, err := c.ensure(ctx, path, addr, "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", e.listen)
		if err != nil {
			return nil, fmt.Errorf("chaos: dial %s via proxy %s (%s): %w", addr, e.name, e.listen, err)
		}
		return conn, nil
	}
}

// Expose creates (or returns) the proxy of path for upstream, listening on
// listen ("127.0.0.1:0" for any free port), and returns its address. It is
// what `evbench chaos serve` uses to put fixed ports in front of a store.
func (c *Chaos) Expose(ctx context.Context, path, upstream, listen string) (string, error) {
	if err := checkPath(path); err != nil {
		return "", err
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	e, err := c.ensure(ctx, path, upstream, listen)
	if err != nil {
		return "", err
	}
	return e.listen, nil
}

// Proxy describes one proxy this Chaos created.
type Proxy struct {
	Name     string   `json:"name"`
	Paths    []string `json:"paths"`
	Upstream string   `json:"upstream"`
	Listen   string   `json:"listen"`
}

// Proxies lists the proxies created so far, in creation order.
func (c *Chaos) Proxies() []Proxy {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Proxy
	for _, e := range c.order {
		if !e.created {
			continue
		}
		var paths []string
		for p := range e.paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		out = append(out, Proxy{Name: e.name, Paths: paths, Upstream: e.upstream, Listen: e.listen})
	}
	return out
}

func checkPath(path string) error {
	switch path {
	case PathProducer, PathConsumer, PathBoth:
		return nil
	}
	return fmt.Errorf("chaos: path %q cannot be proxied; use producer, consumer or both", path)
}

// checkUpstream allows loopback addresses only: load never leaves the host.
func checkUpstream(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("chaos: upstream %q is not host:port; write e.g. 127.0.0.1:5432", addr)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("chaos: upstream %q is not on this host; only 127.0.0.1, localhost or ::1 may be proxied", addr)
}

// ensure returns the ready proxy of path for upstream, creating it once.
func (c *Chaos) ensure(ctx context.Context, path, upstream, listen string) (*proxyEntry, error) {
	if err := checkUpstream(upstream); err != nil {
		return nil, err
	}
	key := path + "|" + upstream
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if e, ok := c.proxies[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.nextN++
	e := &proxyEntry{
		key:      key,
		name:     fmt.Sprintf("evbench-%s-%s-%d", c.runID, path, c.nextN),
		upstream: upstream,
		paths:    map[string]bool{},
		ready:    make(chan struct{}),
	}
	for _, p := range expandPath(path) {
		e.paths[p] = true
	}
	c.proxies[key] = e
	c.order = append(c.order, e)
	c.mu.Unlock()

	e.err = c.create(e, listen)
	if e.err != nil {
		c.mu.Lock()
		delete(c.proxies, key) // a later dial may retry
		c.mu.Unlock()
	}
	close(e.ready)
	return e, e.err
}

// create starts e's proxy and applies every active fault of its paths.
func (c *Chaos) create(e *proxyEntry, listen string) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	ctx, cancel := context.WithTimeout(c.life, closeTimeout)
	defer cancel()
	addr, err := c.be.create(ctx, e.name, listen, e.upstream)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	c.mu.Lock()
	e.listen, e.created = addr, true
	closed := c.closed
	active := append([]*activeFault(nil), c.active...)
	c.mu.Unlock()
	if closed {
		// Close ran while we were creating it: do not leak it.
		_ = c.be.remove(context.Background(), e.name)
		return ErrClosed
	}
	c.logf("chaos: proxy %s listens on %s -> %s", e.name, addr, e.upstream)
	for _, af := range active {
		if e.hits(af.paths) {
			if err := c.applyTo(ctx, e, af); err != nil {
				af.recordErr(err)
			}
		}
	}
	return nil
}
