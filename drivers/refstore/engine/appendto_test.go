package engine

import (
	"errors"
	"sync"
	"testing"
)

// recAcker copies what it is given (AppendTo's positions are reused).
type recAcker struct {
	mu  sync.Mutex
	pos []uint64
	err error
	n   int
	wg  *sync.WaitGroup
}

func (a *recAcker) Ack(pos []uint64, err error) {
	a.mu.Lock()
	a.pos, a.err = append([]uint64(nil), pos...), err
	a.n++
	a.mu.Unlock()
	a.wg.Done()
}

// TestAppendTo: recycled requests keep positions, retries, conflicts and
// the closed log straight, and each append is acknowledged exactly once.
func TestAppendTo(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{Sync: SyncAlways})
	var wg sync.WaitGroup
	run := func(req AppendRequest) *recAcker {
		a := &recAcker{wg: &wg}
		wg.Add(1)
		l.AppendTo(req, a)
		return a
	}
	var acks []*recAcker
	for i := 0; i < 50; i++ {
		acks = append(acks, run(AppendRequest{Expected: ExpectAny, Events: []Event{ev(2*i, "a"), ev(2*i+1, "b")}}))
	}
	wg.Wait()
	for i, a := range acks {
		if a.err != nil || a.n != 1 || len(a.pos) != 2 || a.pos[1] != a.pos[0]+1 {
			t.Fatalf("append %d: pos %v err %v acks %d", i, a.pos, a.err, a.n)
		}
	}
	cases := []struct {
		name    string
		req     AppendRequest
		wantPos []uint64
		wantErr error
	}{
		{"retry returns the original positions", AppendRequest{Expected: ExpectAny, Events: []Event{ev(6, "a"), ev(7, "b")}}, acks[3].pos, nil},
		{"conflict", AppendRequest{Expected: 3, Events: []Event{ev(1000, "a")}}, nil, ErrConflict},
		{"bad request", AppendRequest{Expected: ExpectAny}, nil, nil},
	}
	for _, c := range cases {
		a := run(c.req)
		wg.Wait()
		switch {
		case c.name == "bad request":
			if a.err == nil {
				t.Errorf("%s: no error", c.name)
			}
		case !errors.Is(a.err, c.wantErr) && c.wantErr != nil, c.wantErr == nil && a.err != nil:
			t.Errorf("%s: err %v, want %v", c.name, a.err, c.wantErr)
		case len(a.pos) != len(c.wantPos) || (len(c.wantPos) > 0 && a.pos[0] != c.wantPos[0]):
			t.Errorf("%s: pos %v, want %v", c.name, a.pos, c.wantPos)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if a := run(AppendRequest{Expected: ExpectAny, Events: []Event{ev(5000, "a")}}); !errors.Is(a.err, ErrClosed) {
		t.Fatalf("after close: %v", a.err)
	}
}
