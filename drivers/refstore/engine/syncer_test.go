package engine

import (
	"context"
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
	l := mustOpen(t, t.TempDir(), Options{syncHook: func() {
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
