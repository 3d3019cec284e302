package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPolicyWaitBackoffAndJitter(t *testing.T) {
	p := Policy{Attempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		tries  int
		lo, hi time.Duration
	}{{1, 50 * time.Millisecond, 100 * time.Millisecond}, {2, 100 * time.Millisecond, 200 * time.Millisecond}, {3, 150 * time.Millisecond, 300 * time.Millisecond}, {6, 150 * time.Millisecond, 300 * time.Millisecond}} {
		seen := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			w := p.Wait(tc.tries, rng)
			if w < tc.lo || w > tc.hi {
				t.Fatalf("tries %d: wait %v outside [%v, %v]", tc.tries, w, tc.lo, tc.hi)
			}
			seen[w] = true
		}
		if len(seen) < 10 {
			t.Errorf("tries %d: only %d distinct waits: no jitter", tc.tries, len(seen))
		}
	}
}

// fakeClock advances on every sleep, so the executor runs instantly.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) bool {
	c.now = c.now.Add(d)
	return true
}

func TestExecutorRetriesThenDeadLetters(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	dlq := NewMemorySink()
	e := NewExecutor(Policy{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, nil, dlq, 7)
	e.Now, e.Sleep = clk.Now, clk.Sleep
	ctx := context.Background()

	calls := 0
	out := e.Do(ctx, Letter{Key: "k", Seq: 1}, func(try int) error {
		calls++
		if try < 2 {
			return errors.New("transient")
		}
		return nil
	})
	if out.Err != nil || out.Attempts != 2 || out.DeadLettered || calls != 2 {
		t.Fatalf("recovering event: %+v calls %d", out, calls)
	}
	out = e.Do(ctx, Letter{Key: "k", Seq: 2, Type: "PaymentCaptured"}, func(int) error { return errors.New("poison") })
	if !out.DeadLettered || out.Attempts != 3 || out.Err == nil {
		t.Fatalf("poison event: %+v", out)
	}
	ls, _ := dlq.Take(ctx)
	if len(ls) != 1 || ls[0].Seq != 2 || ls[0].Attempts != 3 || ls[0].Err != "poison" || ls[0].Type != "PaymentCaptured" {
		t.Fatalf("dlq %+v", ls)
	}
	if n, _ := dlq.Len(ctx); n != 0 {
		t.Fatalf("take left %d letters", n)
	}
}

// TestExecutorBreakerPauses: under constant failures the breaker opens and
// the executor waits out the cooldown before the next try.
func TestExecutorBreakerPauses(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	b := NewBreaker(BreakerConfig{Threshold: 0.5, Window: time.Second, Cooldown: 500 * time.Millisecond, MinCalls: 3})
	e := NewExecutor(Policy{Attempts: 4, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}, b, NewMemorySink(), 1)
	e.Now, e.Sleep = clk.Now, clk.Sleep
	out := e.Do(context.Background(), Letter{}, func(int) error { return errors.New("down") })
	if !out.DeadLettered || out.Paused < 400*time.Millisecond {
		t.Fatalf("outcome %+v, want dead-lettered after a breaker pause", out)
	}
	if b.State() != Open {
		t.Fatalf("breaker %s after a failed probe", b.State())
	}
}

// TestExecutorStoppedDeadLetters: an event whose retries the context cuts
// short is dead-lettered, not dropped.
func TestExecutorStoppedDeadLetters(t *testing.T) {
	dlq := NewMemorySink()
	e := NewExecutor(Policy{Attempts: 5, Backoff: time.Hour, MaxBackoff: time.Hour}, nil, dlq, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := e.Do(ctx, Letter{Seq: 9}, func(int) error { return errors.New("x") })
	if !out.DeadLettered || out.Attempts != 1 {
		t.Fatalf("%+v", out)
	}
	if n, _ := dlq.Len(ctx); n != 1 {
		t.Fatalf("dlq has %d", n)
	}
}

func TestFlaky(t *testing.T) {
	f := NewFlaky(0.1, []string{"PaymentCaptured"}, nil, 42)
	fails := 0
	for i := 0; i < 10000; i++ {
		if f.Check("OrderPlaced", 0) != nil {
			fails++
		}
	}
	if fails < 800 || fails > 1200 {
		t.Errorf("%d of 10000 failed at rate 0.1", fails)
	}
	if f.Check("PaymentCaptured", 0) == nil {
		t.Error("a listed type did not fail")
	}
	g := NewFlaky(0.1, nil, nil, 42)
	for i := 0; i < 100; i++ {
		if (NewFlaky(0.1, nil, nil, 42).Check("x", 0) == nil) != (g.Check("x", 0) == nil) && i == 0 {
			t.Fatal("same seed, different first outcome")
		}
	}
	w := NewFlaky(0, []string{"A"}, []Window{{From: time.Second, To: 2 * time.Second}}, 1)
	if w.Check("A", 500*time.Millisecond) != nil || w.Check("A", 1500*time.Millisecond) == nil || w.Check("A", 2*time.Second) != nil {
		t.Error("fail window not honoured")
	}
}
