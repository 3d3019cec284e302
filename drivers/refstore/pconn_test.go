package refstore

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/wire"
)

// TestEnqueueBoundedWhenStalled: a peer that never reads stalls the writer;
// the write buffer then fills to maxQueued and a further call ends with its
// ctx instead of growing the buffer or hanging, and failing the connection
// answers every pending call once.
func TestEnqueueBoundedWhenStalled(t *testing.T) {
	c, peer := net.Pipe()
	defer peer.Close()
	p := newPconn(c, bufio.NewReader(c), wire.Limits{MaxFrame: 16 << 20, MaxBatch: 10}, "pipe")
	big := func(dst []byte, id uint32) []byte { return append(dst, make([]byte, 1<<20)...) }
	var answered atomic.Int32
	cb := func(_ wire.Frame, err error) {
		if err == nil {
			t.Error("answered without an error on a stalled connection")
		}
		answered.Add(1)
	}
	// 1 MiB taken by the stalled writer, then maxQueued more in the buffer.
	n := 1 + maxQueued>>20
	p.call(context.Background(), big, answerFunc(cb))
	for taken := false; !taken; { // the writer took the first frame and is stuck writing it
		time.Sleep(time.Millisecond)
		p.wmu.Lock()
		taken = len(p.wbuf) == 0
		p.wmu.Unlock()
	}
	for i := 1; i < n; i++ {
		p.call(context.Background(), big, answerFunc(cb))
	}
	p.wmu.Lock()
	queued := len(p.wbuf)
	p.wmu.Unlock()
	if queued != maxQueued {
		t.Fatalf("queued %d bytes, want exactly the bound %d", queued, maxQueued)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	p.call(ctx, big, answerFunc(func(_ wire.Frame, err error) { errc <- err; answered.Add(1) }))
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("full buffer: got %v, want the ctx deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call on a full buffer did not end with its ctx")
	}
	p.fail(errors.New("test: closed"))
	// Not every answer is given inside fail: under load one arrived just
	// after it returned (about 1 run in 10 under -race). Wait for all of
	// them, then make sure nothing is answered twice.
	for deadline := time.Now().Add(2 * time.Second); answered.Load() < int32(n+1) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := answered.Load(); got != int32(n+1) {
		t.Fatalf("%d callbacks, want %d (each call answered once)", got, n+1)
	}
}
