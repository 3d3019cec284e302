package server

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/vfs"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

func startWith(t *testing.T, o engine.Options, cfg Config) (string, *engine.Log) {
	t.Helper()
	l, err := engine.Open("/d", o)
	if err != nil {
		t.Fatal(err)
	}
	s := New(l, cfg)
	a, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); l.Close() })
	return a.String(), l
}

// TestMaxConns: past the limit a connection gets an error frame naming the
// limit and is closed; once one closes, a new one is served again.
func TestMaxConns(t *testing.T) {
	addr, _ := startWith(t, engine.Options{FS: vfs.NewMem(1)}, Config{MaxConns: 2})
	c1, _ := dialRaw(t, addr, true)
	dialRaw(t, addr, true)
	c, br := dialRaw(t, addr, false)
	f, _, err := wire.ReadFrame(br, 1<<20, nil)
	if err != nil || f.Type != wire.TError || !strings.Contains(string(f.Body), "too many connections") {
		t.Fatalf("third connection: %+v %q %v, want a too-many-connections error", f, f.Body, err)
	}
	if _, _, err := wire.ReadFrame(br, 1<<20, nil); err == nil {
		t.Fatal("third connection not closed")
	}
	c.Close()
	c1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, br := dialRaw(t, addr, false)
		c.Write(wire.AppendHello(nil))
		f, _, err := wire.ReadFrame(br, 1<<20, nil)
		if err == nil && f.Type == wire.THelloOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection served after one closed: %+v %v", f, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdleTimeout: a connection that sends nothing is closed after the idle
// timeout; one that keeps sending is not.
func TestIdleTimeout(t *testing.T) {
	addr, _ := startWith(t, engine.Options{FS: vfs.NewMem(1)}, Config{IdleTimeout: 150 * time.Millisecond})
	idle, ibr := dialRaw(t, addr, true)
	busy, bbr := dialRaw(t, addr, true)
	start := time.Now()
	for i := 0; i < 8; i++ {
		busy.Write(wire.AppendEmpty(nil, wire.THead, uint32(i)))
		if f, _, err := wire.ReadFrame(bbr, 1<<20, nil); err != nil || f.Type != wire.THeadOK {
			t.Fatalf("busy connection: %+v %v", f, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ibr.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want closed", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the timeout", d)
	}
}

// gateFS stalls every Datasync while closed is unset, so commits hang.
type gateFS struct {
	vfs.FS
	mu   sync.Mutex
	gate chan struct{}
}

type gateFile struct {
	vfs.File
	fs *gateFS
}

func (g *gateFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return gateFile{f, g}, nil
}

func (f gateFile) Datasync() error {
	f.fs.mu.Lock()
	g := f.fs.gate
	f.fs.mu.Unlock()
	if g != nil {
		<-g
	}
	return f.File.Datasync()
}

// TestMaxConnBytes: while commits hang, the server reads only about
// MaxConnBytes of a pipelining client's appends (one frame more at most)
// and resumes once they are answered.
func TestMaxConnBytes(t *testing.T) {
	fs := &gateFS{FS: vfs.NewMem(1)}
	addr, l := startWith(t, engine.Options{FS: fs, SegmentSize: 8 << 20}, Config{MaxConnBytes: 64 << 10, MaxFrame: 1 << 20})
	gate := make(chan struct{})
	fs.mu.Lock()
	fs.gate = gate
	fs.mu.Unlock()
	released := false
	defer func() {
		if !released {
			close(gate)
		}
	}()
	c, br := dialRaw(t, addr, true)
	const n, size = 20, 16 << 10
	go func() {
		for i := 0; i < n; i++ {
			e := engine.Event{ID: [16]byte{byte(i + 1)}, Stream: "s", Payload: bytes.Repeat([]byte{'x'}, size)}
			if _, err := c.Write(wire.AppendAppend(nil, uint32(i), engine.ExpectAny, []engine.Event{e})); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if got := l.Stats().Records; got > 5 || got == 0 {
		t.Fatalf("%d appends read while commits hang, want 4-5 (64 KiB of 16 KiB frames)", got)
	}
	close(gate)
	released = true
	fs.mu.Lock()
	fs.gate = nil
	fs.mu.Unlock()
	for i := 0; i < n; i++ {
		f, _, err := wire.ReadFrame(br, 1<<20, nil)
		if err != nil || f.Type != wire.TAppendOK {
			t.Fatalf("answer %d: %+v %v", i, f, err)
		}
	}
}
