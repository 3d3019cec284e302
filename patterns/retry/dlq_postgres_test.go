package retry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/internal/pgtest"
)

func TestPostgresSink(t *testing.T) {
	pool, sfx := pgtest.Pool(t, "evbt_dlq_", "evbt_dlqbad_")
	ctx := context.Background()
	s, err := NewPostgresSink(ctx, pool, "evbt_dlq_"+sfx, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewPostgresSink(ctx, pool, "evbt_dlq_"+sfx, "run-b")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Round(time.Microsecond)
	for i := byte(1); i <= 3; i++ {
		l := Letter{Consumer: "p0", ID: [16]byte{i}, Key: "order-1", Seq: uint64(i), Type: "PaymentCaptured", Payload: []byte("{}"), CreatedAt: 5, Attempts: 3, Err: "boom", At: at.Add(time.Duration(i) * time.Millisecond)}
		if err := s.Put(ctx, l); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			s.Put(ctx, l) // given up twice: kept once
		}
	}
	other.Put(ctx, Letter{Consumer: "p0", ID: [16]byte{1}, Key: "k", At: at})
	if n, err := s.Len(ctx); err != nil || n != 3 {
		t.Fatalf("len %d %v", n, err)
	}
	if ls, err := s.List(ctx); err != nil || len(ls) != 3 {
		t.Fatalf("list %d %v", len(ls), err)
	}
	ls, err := s.Take(ctx)
	if err != nil || len(ls) != 3 {
		t.Fatalf("take %d %v", len(ls), err)
	}
	if ls[0].Seq != 1 || ls[2].Seq != 3 || ls[1].Type != "PaymentCaptured" || ls[1].Attempts != 3 || string(ls[1].Payload) != "{}" {
		t.Fatalf("letters %+v", ls)
	}
	if n, _ := s.Len(ctx); n != 0 {
		t.Fatalf("left %d after take", n)
	}
	if n, _ := other.Len(ctx); n != 1 {
		t.Fatalf("other run's letters: %d, want 1 (scopes are separate)", n)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE evbt_dlqbad_"+sfx+" (x int)"); err != nil {
		t.Fatal(err)
	}
	_, err = NewPostgresSink(ctx, pool, "evbt_dlqbad_"+sfx, "run-a")
	if err == nil || !strings.Contains(err.Error(), "evbt_dlqbad_"+sfx+" exists with columns (x integer)") {
		t.Fatalf("wrong table: %v", err)
	}
}
