// Package server serves a refstore log over TCP with the wire protocol:
// pipelined appends and head queries on request connections, and streaming
// subscriptions on connections switched by a subscribe frame. Protocol
// errors close only the offending connection.
package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// Config limits what one client can make the server hold.
type Config struct {
	// MaxFrame is the largest frame accepted; default wire.DefaultMaxFrame.
	MaxFrame int
	// MaxBatch is the most events per append; default wire.DefaultMaxBatch.
	MaxBatch int
	// MaxInFlight is how many requests one connection may have pending
	// before the server stops reading from it; default 4096.
	MaxInFlight int
	// ReadBatchBytes is the target size of one subscription frame; default 512 KiB.
	ReadBatchBytes int
	// HandshakeTimeout bounds the wait for the hello frame; default 10s.
	HandshakeTimeout time.Duration
	// MaxConns is how many connections are served at once; default 1024.
	// One more is answered with an error frame and closed.
	MaxConns int
	// MaxConnBytes bounds the request bytes one connection may pin (frames
	// read whose appends are not answered yet: their payloads alias the
	// frame until the commit) before the server stops reading from it, the
	// backpressure for a client that pipelines faster than the disk; at
	// most one frame more is held. Default 64 MiB.
	MaxConnBytes int
	// IdleTimeout closes a request connection that sends nothing for this
	// long while nothing it sent is pending; a frame must also arrive
	// whole within it. Subscriptions are exempt. Default 5 minutes; < 0
	// disables it.
	IdleTimeout time.Duration
	// Logf receives one line per connection-level problem; nil discards.
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() Config {
	if c.MaxFrame <= 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = wire.DefaultMaxBatch
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4096
	}
	if c.ReadBatchBytes <= 0 {
		c.ReadBatchBytes = 512 << 10
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 1024
	}
	if c.MaxConnBytes <= 0 {
		c.MaxConnBytes = 64 << 20
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	return c
}

// Server serves one log. Close it before closing the log.
type Server struct {
	log *engine.Log
	cfg Config

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	done   chan struct{}
}

// New returns a server for log.
func New(log *engine.Log, cfg Config) *Server {
	return &Server{log: log, cfg: cfg.withDefaults(), conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
}

// Listen binds addr and serves in the background; it returns the bound
// address (useful with port 0).
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("refstore: listen on %s: %w", addr, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Serve(ln)
	}()
	return ln.Addr(), nil
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errors.New("refstore: server closed")
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("refstore: accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		if len(s.conns) >= s.cfg.MaxConns {
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				s.reject(c, 0, wire.CodeUnavailable, fmt.Sprintf("refstore: too many connections (the server's limit is %d, refstore serve --max-conns): try again later", s.cfg.MaxConns))
				c.Close()
			}()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every connection (in-flight appends still
// complete in the log) and waits for the connection goroutines. Idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}
