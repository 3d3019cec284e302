package retry

import (
	"testing"
	"time"
)

// TestBreakerCycle: closed -> open above the threshold -> half-open after
// the cooldown -> open again on a failed probe -> closed on a good one.
func TestBreakerCycle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBreaker(BreakerConfig{Threshold: 0.5, Window: time.Second, Cooldown: 200 * time.Millisecond, MinCalls: 4})
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Below MinCalls nothing opens, even at 100% failures.
	for i := 0; i < 3; i++ {
		b.Record(at(i), false)
	}
	if b.State() != Closed {
		t.Fatalf("opened below min_calls")
	}
	b.Record(at(3), false) // 4 of 4 failed
	if b.State() != Open {
		t.Fatalf("state %s, want open", b.State())
	}
	if w := b.Wait(at(100)); w != 103*time.Millisecond {
		t.Fatalf("wait %v, want the 103ms left of the cooldown", w)
	}
	if w := b.Wait(at(203)); w != 0 || b.State() != HalfOpen {
		t.Fatalf("after cooldown: wait %v state %s, want a probe in half-open", w, b.State())
	}
	if w := b.Wait(at(204)); w == 0 {
		t.Fatalf("a second caller got through while the probe runs")
	}
	b.Record(at(205), false) // probe fails
	if b.State() != Open {
		t.Fatalf("failed probe: state %s", b.State())
	}
	if w := b.Wait(at(405)); w != 0 {
		t.Fatalf("second probe refused: %v", w)
	}
	b.Record(at(406), true)
	if b.State() != Closed {
		t.Fatalf("good probe: state %s", b.State())
	}
	want := []State{Open, HalfOpen, Open, HalfOpen, Closed}
	ts := b.Transitions()
	if len(ts) != len(want) {
		t.Fatalf("transitions %+v", ts)
	}
	for i, s := range want {
		if ts[i].To != s {
			t.Fatalf("transition %d to %s, want %s", i, ts[i].To, s)
		}
	}
	ps := OpenPeriods(ts, at(1000))
	if len(ps) != 1 || !ps[0].Start.Equal(at(3)) || !ps[0].End.Equal(at(406)) {
		t.Fatalf("open periods %+v, want one from 3ms to 406ms", ps)
	}
}

// TestBreakerRollingWindow: failures older than the window do not count.
func TestBreakerRollingWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBreaker(BreakerConfig{Threshold: 0.5, Window: time.Second, Cooldown: time.Second, MinCalls: 2})
	b.Record(t0, true)
	b.Record(t0.Add(10*time.Millisecond), false) // 1 of 2: not above 0.5
	if b.State() != Closed {
		t.Fatal("opened at exactly the threshold")
	}
	// 2 s later the old calls are gone: 1 success then 1 failure = 50%.
	b.Record(t0.Add(2*time.Second), true)
	b.Record(t0.Add(2*time.Second+time.Millisecond), false)
	if b.State() != Closed {
		t.Fatal("old failures still counted")
	}
	b.Record(t0.Add(2*time.Second+2*time.Millisecond), false) // 2 of 3
	if b.State() != Open {
		t.Fatal("did not open at 2/3 failures")
	}
}
