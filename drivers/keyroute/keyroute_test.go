package keyroute

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

func TestPickKeepsAKeyOnOneIndex(t *testing.T) {
	r := New(4)
	seen := map[int]bool{}
	for k := 0; k < 200; k++ {
		key := fmt.Sprintf("order-%d", k)
		i, spans := r.Pick([]drivers.Event{{Key: key}, {Key: key}})
		if spans || i != r.Of(key) || i < 0 || i >= 4 {
			t.Fatalf("key %s: index %d spans %v", key, i, spans)
		}
		seen[i] = true
	}
	if len(seen) != 4 {
		t.Fatalf("200 keys used indexes %v, want all 4", seen)
	}
	var a, b string
	for k := 0; a == "" || b == ""; k++ {
		key := fmt.Sprintf("k-%d", k)
		if r.Of(key) == 0 && a == "" {
			a = key
		} else if r.Of(key) != 0 && b == "" {
			b = key
		}
	}
	if _, spans := r.Pick([]drivers.Event{{Key: a}, {Key: b}}); !spans {
		t.Fatal("a batch over two indexes must span")
	}
	if i, spans := New(1).Pick([]drivers.Event{{Key: a}, {Key: b}}); i != 0 || spans {
		t.Fatal("one index never spans")
	}
}

// A spanning batch waits for the appends in flight and holds later ones.
func TestSpanningBatchIsOrdered(t *testing.T) {
	r := New(2)
	r.Acquire(false) // an append in flight
	got := make(chan string, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.Acquire(true)
		got <- "spanning"
		r.Release(true)
	}()
	time.Sleep(20 * time.Millisecond)
	got <- "first answered"
	r.Release(false)
	wg.Wait()
	r.Acquire(false)
	got <- "later"
	r.Release(false)
	if a, b, c := <-got, <-got, <-got; a != "first answered" || b != "spanning" || c != "later" {
		t.Fatalf("order %s, %s, %s", a, b, c)
	}
}
