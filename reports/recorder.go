package reports

import (
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every recorder, so histograms from any run
// merge without dropping values: 1 µs resolution up to one hour, in
// nanoseconds (the unit the .hlog Interval_Max column assumes), 3 digits.
const (
	HistLowest  = int64(time.Microsecond)
	HistHighest = int64(time.Hour)
	HistDigits  = 3
)

// NewHistogram returns an empty histogram with the shared geometry.
func NewHistogram() *hdr.Histogram { return hdr.New(HistLowest, HistHighest, HistDigits) }

// Interval is one closed per-second interval of a Recorder.
type Interval struct {
	StartS float64 // seconds since the recorder's start
	EndS   float64
	Hist   *hdr.Histogram // the interval's values; StartTimeMs/EndTimeMs set
}

// Recorder records latencies from many goroutines into a whole-run histogram
// and per-second interval histograms (the HdrHistogram interval-recorder
// pattern). hdrhistogram-go is not safe for concurrent use, so the Recorder
// owns the locking; one uncontended mutex costs ~14 ns per value here.
//
// Values are attributed to the second in which they were recorded (the
// completion time), as HdrHistogram interval logs do.
type Recorder struct {
	name  string
	start time.Time

	mu        sync.Mutex
	total     *hdr.Histogram
	cur       *hdr.Histogram
	curSecond int64
	closed    []Interval
	clamped   int64
}

// NewRecorder starts a recorder whose intervals are counted from start.
func NewRecorder(name string, start time.Time) *Recorder {
	r := &Recorder{name: name, start: start, total: NewHistogram(), cur: NewHistogram()}
	return r
}

// Name is the recorder's metric name (commit, service_time, e2e).
func (r *Recorder) Name() string { return r.name }

// Record adds one latency observed at now. Values beyond the histogram's
// range are clamped to its highest value and counted (Clamped), never
// dropped silently.
func (r *Recorder) Record(now time.Time, d time.Duration) {
	v := int64(d)
	r.mu.Lock()
	r.rollLocked(now)
	if v < HistLowest {
		v = HistLowest
	}
	if v > HistHighest {
		v = HistHighest
		r.clamped++
	}
	_ = r.total.RecordValue(v)
	_ = r.cur.RecordValue(v)
	r.mu.Unlock()
}

// rollLocked closes intervals up to the second containing now.
func (r *Recorder) rollLocked(now time.Time) {
	sec := int64(now.Sub(r.start) / time.Second)
	if sec < 0 {
		sec = 0
	}
	for r.curSecond < sec {
		r.closeCurrentLocked()
	}
}

func (r *Recorder) closeCurrentLocked() {
	startMs := r.start.Add(time.Duration(r.curSecond) * time.Second).UnixMilli()
	r.cur.SetStartTimeMs(startMs)
	r.cur.SetEndTimeMs(startMs + 1000)
	r.cur.SetTag(r.name)
	r.closed = append(r.closed, Interval{StartS: float64(r.curSecond), EndS: float64(r.curSecond + 1), Hist: r.cur})
	r.cur = NewHistogram()
	r.curSecond++
}

// Flush closes every interval that ended before now (and the current one
// when final is true), so Intervals covers the whole run.
func (r *Recorder) Flush(now time.Time, final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollLocked(now)
	if final && r.cur.TotalCount() > 0 {
		r.closeCurrentLocked()
	}
}

// Intervals returns the closed intervals. The histograms must not be
// modified by the caller.
func (r *Recorder) Intervals() []Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Interval(nil), r.closed...)
}

// Total returns a copy of the whole-run histogram.
func (r *Recorder) Total() *hdr.Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.Clone()
}

// Count is the number of recorded values.
func (r *Recorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.TotalCount()
}

// Clamped counts values above the histogram's range.
func (r *Recorder) Clamped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clamped
}

// Summarize computes the Percentiles of a nanosecond histogram in ms.
func Summarize(h *hdr.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	return Percentiles{
		Count: h.TotalCount(),
		Min:   ms(h.Min()),
		Mean:  h.Mean() / 1e6,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P95:   ms(h.ValueAtQuantile(95)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// EncodeHistogram returns base64 of the V2 compressed encoding.
func EncodeHistogram(h *hdr.Histogram) (string, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("reports: encode histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHistogram reverses EncodeHistogram.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("reports: histogram is not base64: %w", err)
	}
	h, err := hdr.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("reports: decode histogram: %w", err)
	}
	return h, nil
}
