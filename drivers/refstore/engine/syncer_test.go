package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestPipelinedCommit: while the first group's fdatasync is held, the next
// group is already written, yet it is acknowledged only after a later
// fdatasync, and readers never see it before that.
func TestPipelinedCommit(t *testing.T) {
	entered := make(chan int, 4)
	release := make(chan struct{})
	syncs := 0
	l := mustOpen(t, t.TempDir(), Options{SyncConcurrency: 1, syncHook: func() {
		syncs++
		entered <- syncs
		<-release
	}})
	defer l.Close()
	first := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(0, "s")}})
		first <- err
	}()
	if n := <-entered; n != 1 {
		t.Fatalf("sync %d entered first", n)
	}
	second := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(1, "s")}})
		second <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Writes < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("second group not written while the first sync runs (writes=%d)", l.Stats().Writes)
		}
		time.Sleep(time.Millisecond)
	}
	if h := l.Head(); h != 0 {
		t.Fatalf("head %d before any sync finished, want 0", h)
	}
	release <- struct{}{} // finish sync 1
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		t.Fatalf("second append acknowledged by the sync that started before its write (err=%v)", err)
	case n := <-entered:
		if n != 2 {
			t.Fatalf("sync %d entered, want 2", n)
		}
	}
	if h := l.Head(); h != 1 {
		t.Fatalf("head %d after the first sync, want 1", h)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if h := l.Head(); h != 2 {
		t.Fatalf("head %d, want 2", h)
	}
	checkRecords(t, readAll(t, l, 0), 0, 2)
}

// TestConcurrentSyncs: with two fdatasyncs allowed, a group written while the
// first sync hangs gets its own sync; when that one finishes first it covers
// both groups, but they are acknowledged only once the overlapping first
// sync has also finished without error (a writeback error is reported to one
// of two overlapping syncs of a descriptor only), then both at once, in order.
func TestConcurrentSyncs(t *testing.T) {
	var calls atomic.Int32
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	entered := make(chan int, 4)
	l := mustOpen(t, t.TempDir(), Options{SyncConcurrency: 2, syncHook: func() {
		i := int(calls.Add(1)) - 1
		entered <- i
		if i < len(gates) {
			<-gates[i]
		}
	}})
	defer l.Close()
	res := make(chan error, 2)
	appendOne := func(i int) {
		_, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: []Event{ev(i, "s")}})
		res <- err
	}
	go appendOne(0)
	if i := <-entered; i != 0 {
		t.Fatalf("sync %d first", i)
	}
	go appendOne(1)
	if i := <-entered; i != 1 {
		t.Fatalf("sync %d second", i)
	}
	if h := l.Head(); h != 0 {
		t.Fatalf("head %d while both syncs hang, want 0", h)
	}
	close(gates[1])
	select {
	case err := <-res:
		t.Fatalf("acknowledged (err=%v) while an overlapping sync still runs", err)
	case <-time.After(50 * time.Millisecond):
	}
	if h := l.Head(); h != 0 {
		t.Fatalf("head %d while sync 1 hangs, want 0", h)
	}
	close(gates[0])
	for i := 0; i < 2; i++ {
		select {
		case err := <-res:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("not acknowledged after both syncs finished")
		}
	}
	if h := l.Head(); h != 2 {
		t.Fatalf("head %d after both syncs, want 2", h)
	}
	checkRecords(t, readAll(t, l, 0), 0, 2)
}
