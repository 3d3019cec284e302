package runner

import (
	"strings"
	"testing"
	"time"
)

func samplesFrom(lags ...int64) []lagSample {
	out := make([]lagSample, len(lags))
	for i, l := range lags {
		out[i] = lagSample{t: time.Duration(i) * 100 * time.Millisecond, lag: l}
	}
	return out
}

func TestCatchUp(t *testing.T) {
	// 0-0.9 s steady at lag 10; pause 1.0-2.0 s builds lag; drains by 2.5 s.
	lags := []int64{10, 12, 8, 10, 11, 9, 10, 10, 12, 10}
	for i := 0; i < 10; i++ {
		lags = append(lags, int64(100*(i+1)))
	}
	lags = append(lags, 1000, 800, 600, 400, 200) // 2.0..2.4
	for i := 0; i < 15; i++ {
		lags = append(lags, 10) // 2.5.. back to steady
	}
	d := disruption{cause: "pause", start: time.Second, end: 2 * time.Second}
	got := catchUp(samplesFrom(lags...), d, 50, 100*time.Millisecond)
	if !got.recovered {
		t.Fatalf("not recovered: %+v", got)
	}
	if got.threshold != 50 {
		t.Fatalf("threshold %d, want max(rate 50, p95 12) = 50", got.threshold)
	}
	if got.seconds < 0.49 || got.seconds > 0.51 {
		t.Fatalf("catch-up %.3fs, want 0.5s", got.seconds)
	}

	// Never recovers: lag stays high.
	high := append(append([]int64{}, lags[:20]...), 5000, 5000, 5000, 5000)
	got = catchUp(samplesFrom(high...), d, 50, 100*time.Millisecond)
	if got.recovered {
		t.Fatalf("recovered with lag stuck at 5000: %+v", got)
	}

	// A dip that does not hold for a second is not recovery.
	dip := append(append([]int64{}, lags[:20]...), 900, 10, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	got = catchUp(samplesFrom(dip...), d, 50, 100*time.Millisecond)
	if !got.recovered || got.seconds < 1.19 || got.seconds > 1.21 {
		t.Fatalf("catch-up %+v, want recovery at 3.2s (1.2s after the end)", got)
	}
}

// A hold cut short by the end of the run is not recovery, and says why.
func TestCatchUpHoldCutShortIsNotRecovered(t *testing.T) {
	lags := []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}
	for i := 0; i < 10; i++ {
		lags = append(lags, int64(100*(i+1))) // 1.0..1.9 s: paused
	}
	lags = append(lags, 500, 10, 10, 10, 10) // back at 2.1 s, run ends at 2.4 s
	d := disruption{cause: "pause", start: time.Second, end: 2 * time.Second}
	got := catchUp(samplesFrom(lags...), d, 50, 100*time.Millisecond)
	if got.recovered || got.note == "" || !strings.Contains(got.note, "before the 1s hold") {
		t.Fatalf("hold of 0.3s counted: %+v", got)
	}
	// The same run going on for another second recovers at 2.1 s.
	for i := 0; i < 10; i++ {
		lags = append(lags, 10)
	}
	got = catchUp(samplesFrom(lags...), d, 50, 100*time.Millisecond)
	if !got.recovered || got.note != "" || got.seconds < 0.09 || got.seconds > 0.11 {
		t.Fatalf("full hold: %+v", got)
	}
}

// A gap in the samples (the head could not be read) longer than two
// intervals breaks the hold: lag unseen is not lag that stayed low.
func TestCatchUpGapBreaksHold(t *testing.T) {
	var s []lagSample
	at := func(ms int, lag int64) { s = append(s, lagSample{t: time.Duration(ms) * time.Millisecond, lag: lag}) }
	for ms := 0; ms < 1000; ms += 100 {
		at(ms, 10)
	}
	for ms := 1000; ms < 2000; ms += 100 {
		at(ms, 900)
	}
	at(2000, 10)
	at(2100, 10)
	// no samples 2.1 s .. 2.9 s (head failing), then steady for 1.5 s
	for ms := 2900; ms <= 4400; ms += 100 {
		at(ms, 10)
	}
	d := disruption{cause: "pause", start: time.Second, end: 2 * time.Second}
	got := catchUp(s, d, 50, 100*time.Millisecond)
	if !got.recovered || got.seconds < 0.89 || got.seconds > 0.91 {
		t.Fatalf("catch-up %+v, want the hold to restart at 2.9s (0.9s after the end)", got)
	}
	// Without the gap check the hold would have run from 2.0 s.
	got = catchUp(s, d, 50, time.Second)
	if !got.recovered || got.seconds != 0 {
		t.Fatalf("with 1 s sampling the 0.8 s gap is fine: %+v", got)
	}
}

func TestNormalizeError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"refstore: connection to 127.0.0.1:33373 lost: read tcp 127.0.0.1:45898->127.0.0.1:43675: read: connection reset by peer",
			"refstore: connection to 127.0.0.1:* lost: read tcp 127.0.0.1:*->127.0.0.1:*: read: connection reset by peer"},
		{"subscription at position 24750: EOF", "subscription at position N: EOF"},
		{"dial [::1]:4222: refused", "dial [::1]:*: refused"},
		{"kafka: 12 partitions", "kafka: 12 partitions"},
		{"nats: publish to evbench.order-3: nats: server is disconnected", "nats: publish to evbench.order-N: nats: server is disconnected"},
	}
	for _, tc := range tests {
		if got := normalizeError(tc.in); got != tc.want {
			t.Errorf("normalizeError(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
