package chaos

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// echoServer is a tiny TCP echo upstream on 127.0.0.1.
func echoServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// roundTrip writes msg and reads it back within timeout, returning the RTT.
func roundTrip(conn net.Conn, msg []byte, timeout time.Duration) (time.Duration, error) {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := conn.Write(msg); err != nil {
		return 0, err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return 0, err
	}
	if string(buf) != string(msg) {
		return 0, errors.New("echo mismatch")
	}
	return time.Since(t0), nil
}

// dialTrip opens a connection through d and does one round trip.
func dialTrip(d func(context.Context, string, string) (net.Conn, error), addr string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := d(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return roundTrip(conn, []byte("ping"), timeout)
}

func newInprocChaos(t *testing.T) *Chaos {
	t.Helper()
	c, err := New(context.Background(), Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dur(s string) scenarios.Duration {
	d, err := scenarios.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func fault(kind, path, at, forD string, params map[string]any) scenarios.Fault {
	return scenarios.Fault{Kind: kind, Path: path, At: dur(at), For: dur(forD), Params: params}
}

// startFaults starts faults now and waits until n are in effect.
func startFaults(t *testing.T, c *Chaos, faults ...scenarios.Fault) {
	t.Helper()
	if err := c.Start(context.Background(), time.Now(), faults); err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, "faults in effect", func() bool { return len(c.Windows()) == len(faults) })
}
