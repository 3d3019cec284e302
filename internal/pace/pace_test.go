package pace

import (
	"context"
	"testing"
	"time"
)

func TestNeverEarly(t *testing.T) {
	for _, w := range []*Waiter{NewWaiter(), NewPreciseWaiter()} {
		neverEarly(t, w)
	}
}

func neverEarly(t *testing.T, w *Waiter) {
	for _, d := range []time.Duration{0, 10 * time.Microsecond, 300 * time.Microsecond, 3 * time.Millisecond} {
		due := time.Now().Add(d)
		if !w.Until(context.Background(), due) {
			t.Fatal("Until returned false without cancellation")
		}
		if now := time.Now(); now.Before(due) {
			t.Fatalf("woke %v before the instant", due.Sub(now))
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if NewWaiter().Until(ctx, time.Now().Add(time.Hour)) {
		t.Fatal("Until reported success on a cancelled context")
	}
}

// BenchmarkOvershoot reports how late a 500 µs wait wakes, next to the
// runtime timer's lateness measured the same way in the same run.
func BenchmarkOvershoot(b *testing.B) {
	b.Run("precise", func(b *testing.B) {
		w := NewPreciseWaiter()
		var late time.Duration
		for i := 0; i < b.N; i++ {
			due := time.Now().Add(500 * time.Microsecond)
			w.Until(context.Background(), due)
			late += time.Since(due)
		}
		b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs")
	})
	b.Run("cooperative", func(b *testing.B) {
		w := NewWaiter()
		var late time.Duration
		for i := 0; i < b.N; i++ {
			due := time.Now().Add(500 * time.Microsecond)
			w.Until(context.Background(), due)
			late += time.Since(due)
		}
		b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs")
	})
	b.Run("time.Sleep", func(b *testing.B) {
		var late time.Duration
		for i := 0; i < b.N; i++ {
			due := time.Now().Add(500 * time.Microsecond)
			time.Sleep(time.Until(due))
			late += time.Since(due)
		}
		b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs")
	})
}
