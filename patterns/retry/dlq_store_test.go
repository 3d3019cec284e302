package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

// fakeStoreDLQ is a store's DLQ that records what it was given and fails
// Take after handing back some letters, as a connection cut mid-Take does.
type fakeStoreDLQ struct {
	put     []drivers.DeadLetter
	takeErr error
}

func (f *fakeStoreDLQ) Put(_ context.Context, l drivers.DeadLetter) error {
	f.put = append(f.put, l)
	return nil
}
func (f *fakeStoreDLQ) Take(context.Context) ([]drivers.DeadLetter, error) { return f.put, f.takeErr }
func (f *fakeStoreDLQ) List(context.Context) ([]drivers.DeadLetter, error) { return f.put, nil }
func (f *fakeStoreDLQ) Len(context.Context) (int, error)                   { return len(f.put), nil }
func (f *fakeStoreDLQ) Describe() string                                   { return "fake queue" }
func (f *fakeStoreDLQ) Close() error                                       { return nil }

// TestStoreSinkKeepsEveryField: a letter goes to the store and comes back
// with every field, and a failing Take still returns what it took.
func TestStoreSinkKeepsEveryField(t *testing.T) {
	f := &fakeStoreDLQ{takeErr: errors.New("connection reset")}
	s := NewStoreSink(f)
	l := Letter{Consumer: "run/projector-0", ID: [16]byte{1, 2, 3}, Key: "order-7", Seq: 4, Type: "OrderPlaced", Payload: []byte(`{"a":1}`),
		CreatedAt: 99, Attempts: 3, Err: "boom", At: time.Unix(5, 6)}
	if err := s.Put(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	got, err := s.Take(context.Background())
	if err == nil || len(got) != 1 {
		t.Fatalf("Take = %d letters, %v; want the one letter and the error", len(got), err)
	}
	g := got[0]
	if g.Consumer != l.Consumer || g.ID != l.ID || g.Key != l.Key || g.Seq != l.Seq || g.Type != l.Type || string(g.Payload) != string(l.Payload) ||
		g.CreatedAt != l.CreatedAt || g.Attempts != l.Attempts || g.Err != l.Err || !g.At.Equal(l.At) {
		t.Errorf("round trip = %+v\nwant %+v", g, l)
	}
	if s.Describe() != "fake queue" {
		t.Errorf("Describe = %q", s.Describe())
	}
}
