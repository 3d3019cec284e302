package runner

import (
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
	got := catchUp(samplesFrom(lags...), d, 50)
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
	got = catchUp(samplesFrom(high...), d, 50)
	if got.recovered {
		t.Fatalf("recovered with lag stuck at 5000: %+v", got)
	}

	// A dip that does not hold for a second is not recovery.
	dip := append(append([]int64{}, lags[:20]...), 900, 10, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	got = catchUp(samplesFrom(dip...), d, 50)
	if !got.recovered || got.seconds < 1.19 || got.seconds > 1.21 {
		t.Fatalf("catch-up %+v, want recovery at 3.2s (1.2s after the end)", got)
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
