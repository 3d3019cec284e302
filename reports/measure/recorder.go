package measure

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
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

// The bucket layout of NewHistogram, computed as hdrhistogram-go computes
// it, so the recorder can count into a plain array with atomic adds and hand
// the array to hdr.Import unchanged. TestGeometryMatchesHdr checks every
// index against the library.
var geom = func() (g struct {
	unitMagnitude, subHalfMagnitude uint
	subHalfCount                    int64
	subMask                         int64
	countsLen                       int
}) {
	sub := int(math.Ceil(math.Log2(2 * math.Pow10(HistDigits))))
	g.subHalfMagnitude = uint(max(sub, 1) - 1)
	g.unitMagnitude = uint(math.Floor(math.Log2(float64(HistLowest))))
	subCount := int64(1) << (g.subHalfMagnitude + 1)
	g.subHalfCount = subCount / 2
	g.subMask = (subCount - 1) << g.unitMagnitude
	buckets := 1
	for smallest := subCount << g.unitMagnitude; smallest <= HistHighest; smallest <<= 1 {
		buckets++
	}
	g.countsLen = (buckets + 1) * int(g.subHalfCount)
	return g
}()

// countsIndex is hdrhistogram-go's countsIndexFor for the shared geometry.
func countsIndex(v int64) int {
	bucket := int64(64-bits.LeadingZeros64(uint64(v|geom.subMask))) - int64(geom.unitMagnitude) - int64(geom.subHalfMagnitude+1)
	sub := v >> (uint(bucket) + geom.unitMagnitude)
	return int((bucket+1)<<geom.subHalfMagnitude + sub - geom.subHalfCount)
}

// valueAt is the lowest value counted at index i (hdrhistogram-go's
// valueFromIndex), so an interval can be refilled bucket by bucket.
func valueAt(i int) int64 {
	bucket := int64(i>>geom.subHalfMagnitude) - 1
	sub := int64(i)&(geom.subHalfCount-1) + geom.subHalfCount
	if bucket < 0 {
		sub -= geom.subHalfCount
		bucket = 0
	}
	return sub << (uint(bucket) + geom.unitMagnitude)
}

// Summary is one closed interval reduced to what the per-second series and
// the live display need: a few dozen bytes instead of a ~200 KB histogram.
type Summary struct {
	StartS, EndS       float64 // seconds since the recorder's start
	Count              int64
	P50, P95, P99, Max float64 // ms; 0 when Count is 0
}

// IntervalSink receives every closed interval, in order (the .hlog writer):
// its histogram (StartTimeMs, EndTimeMs and tag set) and the same counts in
// the shared geometry. Both are only valid during the call: they are reused.
type IntervalSink interface {
	WriteInterval(h *hdr.Histogram, counts []int64) error
}

// Recorder records latencies from any number of goroutines without a lock:
// each value is one atomic add into the active interval's bucket array,
// whose layout is exactly hdrhistogram-go's. Once a second Roll swaps the
// two arrays (the HdrHistogram interval-recorder pattern), drains the
// inactive one into an interval histogram, streams that to the sink, folds
// it into the whole-run total and keeps only a Summary. Memory is therefore
// constant in the length of the run.
//
// Values are attributed to the interval that was active when they were
// recorded. A writer preempted between loading the active array and adding
// to it lands in the next-but-one interval: never lost, at worst moved.
type Recorder struct {
	name  string
	start time.Time

	bufs   [2][]int64
	active atomic.Int32 // index into bufs of the array writers add to

	clamped atomic.Int64

	mu      sync.Mutex // serialises Roll and the readers below
	sink    IntervalSink
	sinkErr error
	total   *hdr.Histogram
	warm    *hdr.Histogram // intervals of the warm-up, kept out of total
	// cum is total's counts in the shared geometry, kept from the first
	// Cumulative call on, so a once-a-second Prometheus histogram costs
	// one pass over an array instead of a histogram walk that allocates.
	cum       []int64
	warmUntil int64          // intervals with an index below this are warm-up
	interval  *hdr.Histogram // reused for every closed interval
	counts    []int64        // the same, as raw counts for the sink
	next      int64          // index of the interval the active array belongs to
	closed    int64          // values in closed intervals
	summaries []Summary
}

// NewRecorder starts a recorder whose intervals are counted from start.
// sink may be nil: intervals are then only summarised.
func NewRecorder(name string, start time.Time, sink IntervalSink) *Recorder {
	r := &Recorder{name: name, start: start, sink: sink, total: NewHistogram(), warm: NewHistogram(), interval: NewHistogram(),
		counts: make([]int64, geom.countsLen)}
	r.bufs[0] = make([]int64, geom.countsLen)
	r.bufs[1] = make([]int64, geom.countsLen)
	return r
}

// Name is the recorder's metric name (commit, service_time, e2e, send_delay).
func (r *Recorder) Name() string { return r.name }

// Start is the instant interval 0 begins.
func (r *Recorder) Start() time.Time { return r.start }

// Record adds one latency. Values beyond the histogram's range are clamped
// to its highest value and counted (Clamped), never dropped silently;
// values below its resolution count as the lowest value.
func (r *Recorder) Record(d time.Duration) { r.RecordN(d, 1) }

// RecordN adds n occurrences of one latency (a batch committed together).
func (r *Recorder) RecordN(d time.Duration, n int64) {
	v := int64(d)
	if v < HistLowest {
		v = HistLowest
	} else if v > HistHighest {
		v = HistHighest
		r.clamped.Add(n)
	}
	atomic.AddInt64(&r.bufs[r.active.Load()][countsIndex(v)], n)
}

// SetWarmup marks the intervals that start within d of the recorder's
// start as warm-up: they are summarised and streamed like any other, but
// folded into Warmup instead of Total, so the run's percentiles and gates
// leave them out. d is counted in whole intervals, rounded up. Call it
// before the first Roll.
func (r *Recorder) SetWarmup(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warmUntil = int64((d + time.Second - 1) / time.Second)
}

// Roll closes every interval that ended at or before now. Values recorded
// since the previous Roll belong to the first interval it closes; later
// ones it closes are empty (the caller was late).
func (r *Recorder) Roll(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollLocked(now)
}

func (r *Recorder) rollLocked(now time.Time) {
	for sec := int64(now.Sub(r.start) / time.Second); r.next < sec; {
		r.closeLocked(r.next + 1)
	}
}

// Close closes the interval in progress (however short) and every one
// before now: the end of the run.
func (r *Recorder) Close(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollLocked(now)
	if r.pendingLocked() {
		r.closeLocked(r.next + 1)
	}
}

// pendingLocked reports whether the active array holds values.
func (r *Recorder) pendingLocked() bool {
	buf := r.bufs[r.active.Load()]
	for i := range buf {
		if atomic.LoadInt64(&buf[i]) != 0 {
			return true
		}
	}
	return false
}

func (r *Recorder) closeLocked(end int64) {
	old := r.active.Load()
	r.active.Store(1 - old)
	buf := r.bufs[old]
	h := r.interval
	h.Reset()
	var n int64
	for i := range buf {
		if atomic.LoadInt64(&buf[i]) == 0 {
			r.counts[i] = 0
			continue
		}
		c := atomic.SwapInt64(&buf[i], 0)
		r.counts[i] = c
		_ = h.RecordValues(valueAt(i), c)
		n += c
	}
	startMs := r.start.Add(time.Duration(r.next) * time.Second).UnixMilli()
	h.SetStartTimeMs(startMs)
	h.SetEndTimeMs(startMs + (end-r.next)*1000)
	h.SetTag(r.name)
	s := Summary{StartS: float64(r.next), EndS: float64(end), Count: n}
	if n > 0 {
		s.P50, s.P95, s.P99 = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(95)), ms(h.ValueAtQuantile(99))
		s.Max = ms(h.Max())
		if r.next < r.warmUntil {
			r.warm.Merge(h)
		} else {
			r.total.Merge(h)
			if r.cum != nil {
				for i, c := range r.counts {
					r.cum[i] += c
				}
			}
		}
	}
	if r.next >= r.warmUntil {
		r.closed += n
	}
	r.summaries = append(r.summaries, s)
	if r.sink != nil && r.sinkErr == nil {
		if err := r.sink.WriteInterval(h, r.counts); err != nil {
			r.sinkErr = fmt.Errorf("measure: %s interval log: %w", r.name, err)
		}
	}
	r.next = end
}

func ms(v int64) float64 { return float64(v) / 1e6 }

// Summaries returns the closed intervals' summaries, one per second.
func (r *Recorder) Summaries() []Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Summary(nil), r.summaries...)
}

// Total returns a copy of the whole-run histogram of the closed intervals.
func (r *Recorder) Total() *hdr.Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.Clone()
}

// Warmup returns a copy of the histogram of the warm-up's intervals
// (empty without SetWarmup).
func (r *Recorder) Warmup() *hdr.Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.warm.Clone()
}

// Last returns the summary of the latest closed interval.
func (r *Recorder) Last() (Summary, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.summaries) == 0 {
		return Summary{}, false
	}
	return r.summaries[len(r.summaries)-1], true
}

// Cumulative returns, for the closed intervals after the warm-up, how many
// values were at or below each bound (nanoseconds, ascending), the total
// count and the sum of the values in nanoseconds (bucket midpoints, the
// histogram's precision): a Prometheus histogram of the run so far.
func (r *Recorder) Cumulative(bounds []int64) (counts []uint64, total uint64, sum float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cum == nil {
		r.cum = make([]int64, geom.countsLen)
		for _, b := range r.total.Distribution() {
			if b.Count > 0 {
				r.cum[countsIndex(b.From)] += b.Count
			}
		}
	}
	counts = make([]uint64, len(bounds))
	j := 0 // the first bound at or above the current bucket
	for i, c := range r.cum {
		if c == 0 {
			continue
		}
		lo := valueAt(i)
		hi := valueAt(i+1) - 1 // the bucket's highest equivalent value
		for j < len(bounds) && bounds[j] < hi {
			j++
		}
		if j < len(bounds) {
			counts[j] += uint64(c)
		}
		total += uint64(c)
		sum += float64(c) * float64(lo+hi) / 2
	}
	for i := 1; i < len(counts); i++ { // cumulative, as Prometheus buckets are
		counts[i] += counts[i-1]
	}
	return counts, total, sum
}

// Count is the number of values in closed intervals after the warm-up.
func (r *Recorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Clamped counts values above the histogram's range.
func (r *Recorder) Clamped() int64 { return r.clamped.Load() }

// SinkErr is the first error the interval sink returned (later intervals
// were summarised but not written).
func (r *Recorder) SinkErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinkErr
}

// Summarize computes the Percentiles of a nanosecond histogram in ms.
func Summarize(h *hdr.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
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
		return "", fmt.Errorf("measure: encode histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHistogram reverses EncodeHistogram.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("measure: histogram is not base64: %w", err)
	}
	h, err := hdr.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("measure: decode histogram: %w", err)
	}
	return h, nil
}

// FillHistograms stores each recorder's whole-run histogram, encoded
// losslessly, in r.Histograms under its name (commit, service_time, e2e,
// send_delay), with the count of values clamped at the range's top.
func FillHistograms(r *Result, recs ...*Recorder) error {
	r.Histograms.Unit = "ns"
	var errs []error
	for _, rec := range recs {
		if rec == nil {
			continue
		}
		s, err := EncodeHistogram(rec.Total())
		if err != nil {
			errs = append(errs, fmt.Errorf("measure: %s histogram: %w", rec.name, err))
			continue
		}
		switch rec.name {
		case "commit":
			r.Histograms.Commit = s
		case "service_time":
			r.Histograms.ServiceTime = s
		case "e2e":
			r.Histograms.E2E = s
		case "send_delay":
			r.Histograms.SendDelay = s
		case "failed":
			r.Histograms.Failed = s
		}
		if c := rec.Clamped(); c > 0 {
			if r.Histograms.Clamped == nil {
				r.Histograms.Clamped = map[string]int64{}
			}
			r.Histograms.Clamped[rec.name] = c
		}
	}
	return errors.Join(errs...)
}
