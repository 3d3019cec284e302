package measure

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The recorder's own bucket index must be hdrhistogram-go's, or every
// percentile it reports would be wrong.
func TestGeometryMatchesHdr(t *testing.T) {
	ref := NewHistogram()
	if got, want := len(ref.Export().Counts), geom.countsLen; got != want {
		t.Fatalf("counts length %d, library %d", want, got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mine := make([]int64, geom.countsLen)
	values := []int64{0, 1, 511, 512, 999, 1000, 1023, 1024, 2047, 2048, 4095, 4096, 1 << 20, HistHighest - 1, HistHighest}
	for i := 0; i < 200_000; i++ {
		values = append(values, int64(rng.ExpFloat64()*float64(rng.IntN(1<<30)+1)))
	}
	for _, v := range values {
		if v > HistHighest {
			v = HistHighest
		}
		if err := ref.RecordValue(v); err != nil {
			t.Fatal(err)
		}
		mine[countsIndex(v)]++
	}
	want := ref.Export().Counts
	for i := range want {
		if want[i] != mine[i] {
			t.Fatalf("bucket %d: recorder %d, library %d", i, mine[i], want[i])
		}
		if got := countsIndex(valueAt(i)); got != i {
			t.Fatalf("valueAt(%d) = %d lands in bucket %d", i, valueAt(i), got)
		}
	}
}

type memSink struct{ hs []*hdr.Histogram }

func (m *memSink) WriteInterval(h *hdr.Histogram, _ []int64) error {
	m.hs = append(m.hs, h.Clone())
	return nil
}

func TestRecorderConcurrentExactCounts(t *testing.T) {
	start := time.Now()
	sink := &memSink{}
	r := NewRecorder("commit", start, sink)
	const writers, per = 4, 50_000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	rolled := make(chan int)
	go func() { // roll as fast as possible while writers write
		for s := 1; ; s++ {
			select {
			case <-stop:
				rolled <- s
				return
			default:
			}
			r.Roll(start.Add(time.Duration(s) * time.Second))
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				r.Record(time.Duration(1000 + i))
			}
		}()
	}
	wg.Wait()
	close(stop)
	s := <-rolled
	r.Close(start.Add(time.Duration(s)*time.Second + time.Millisecond))
	if got := r.Total().TotalCount(); got != writers*per {
		t.Fatalf("total %d, want %d", got, writers*per)
	}
	var inIntervals, inSummaries int64
	for _, h := range sink.hs {
		inIntervals += h.TotalCount()
	}
	for _, s := range r.Summaries() {
		inSummaries += s.Count
	}
	if inIntervals != writers*per || inSummaries != writers*per {
		t.Fatalf("intervals %d, summaries %d, want %d", inIntervals, inSummaries, writers*per)
	}
}

func TestRecorderIntervalsAndClamp(t *testing.T) {
	start := time.Unix(1_700_000_000, 250_000_000)
	dir := t.TempDir()
	path := filepath.Join(dir, "commit.hlog")
	w, err := CreateHlog(path, start)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder("commit", start, w)
	r.Record(2 * time.Millisecond)
	r.Roll(start.Add(1500 * time.Millisecond)) // closes [0,1)
	r.Record(3 * time.Millisecond)
	r.Record(2 * time.Hour)                    // beyond range: clamped, counted
	r.Roll(start.Add(3100 * time.Millisecond)) // closes [1,2) with both, [2,3) empty
	r.Record(time.Nanosecond)                  // below resolution: lowest
	r.Close(start.Add(3200 * time.Millisecond))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r.Clamped() != 1 {
		t.Fatalf("clamped %d, want 1", r.Clamped())
	}
	sum := r.Summaries()
	counts := []int64{}
	for _, s := range sum {
		counts = append(counts, s.Count)
	}
	if len(sum) != 4 || counts[0] != 1 || counts[1] != 2 || counts[2] != 0 || counts[3] != 1 {
		t.Fatalf("summaries %+v", sum)
	}
	if sum[0].P50 < 1.99 || sum[0].P50 > 2.01 {
		t.Fatalf("p50 of interval 0 = %v ms, want 2", sum[0].P50)
	}
	ivs, err := ReadIntervals(path, start, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ivs) != 2 || ivs[0].Hist.TotalCount() != 2 || ivs[0].StartS != 1 || ivs[1].Hist.TotalCount() != 0 {
		t.Fatalf("read back %d intervals: %+v", len(ivs), ivs)
	}
	all, err := ReadHlog(path)
	if err != nil || len(all) != 4 {
		t.Fatalf("ReadHlog: %d intervals, %v", len(all), err)
	}
	var buf bytes.Buffer
	if err := WriteHlog(&buf, start, []Interval{{StartS: 0, EndS: 1, Hist: all[0]}}); err != nil || !bytes.Contains(buf.Bytes(), []byte("#[StartTime:")) {
		t.Fatalf("WriteHlog: %v\n%s", err, buf.String())
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder("commit", time.Now(), nil)
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(1234567)
		for pb.Next() {
			r.Record(d)
			d += 1000
		}
	})
}

func BenchmarkRoll(b *testing.B) {
	start := time.Now()
	r := NewRecorder("commit", start, nil)
	for i := 0; i < b.N; i++ {
		r.Record(time.Duration(1000 + i))
		r.Roll(start.Add(time.Duration(i+1) * time.Second))
	}
}

// The hand-written V2 encoder must produce what hdrhistogram-go decodes to
// the same histogram, percentiles and all.
func TestEncoderMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var e encoder
	for _, n := range []int{0, 1, 10, 10_000} {
		h := NewHistogram()
		for i := 0; i < n; i++ {
			_ = h.RecordValue(int64(rng.ExpFloat64() * 3e6))
		}
		got, err := hdr.Decode(e.encode(nil, h.Export().Counts))
		if err != nil {
			t.Fatalf("%d values: decode: %v", n, err)
		}
		if got.TotalCount() != h.TotalCount() || got.ValueAtQuantile(99.9) != h.ValueAtQuantile(99.9) || got.Max() != h.Max() {
			t.Fatalf("%d values: decoded count %d p99.9 %d max %d, want %d %d %d", n, got.TotalCount(), got.ValueAtQuantile(99.9), got.Max(), h.TotalCount(), h.ValueAtQuantile(99.9), h.Max())
		}
		want, have := h.Export().Counts, got.Export().Counts
		for i := range want {
			if i >= len(have) || have[i] != want[i] {
				t.Fatalf("%d values: bucket %d decoded differently", n, i)
			}
		}
	}
}

func BenchmarkHlogWrite(b *testing.B) {
	start := time.Now()
	w, err := CreateHlog(filepath.Join(b.TempDir(), "x.hlog"), start)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r := NewRecorder("commit", start, w)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 1000; j++ {
			r.Record(time.Duration(200_000 + j*1000))
		}
		r.Roll(start.Add(time.Duration(i+1) * time.Second))
	}
}

// TestCumulativeMatchesHistogram: Cumulative's buckets equal a count of
// the whole-run histogram's bars at each bound, before and after more
// intervals close (the kept array is updated, not recomputed), and the
// warm-up's intervals stay out.
func TestCumulativeMatchesHistogram(t *testing.T) {
	start := time.Unix(100, 0)
	r := NewRecorder("commit", start, nil)
	r.SetWarmup(time.Second)
	bounds := []int64{int64(100 * time.Microsecond), int64(time.Millisecond), int64(5 * time.Millisecond), int64(time.Second), int64(time.Hour)}
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) {
		for i := 0; i < n; i++ {
			r.Record(time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)))
		}
	}
	want := func() ([]uint64, uint64) {
		h := r.Total()
		out := make([]uint64, len(bounds))
		for _, b := range h.Distribution() {
			for i := range bounds {
				if bounds[i] >= b.To {
					out[i] += uint64(b.Count)
				}
			}
		}
		return out, uint64(h.TotalCount())
	}
	fill(500)
	r.Roll(start.Add(time.Second)) // the warm-up's interval
	fill(3000)
	r.Roll(start.Add(2 * time.Second))
	for round := 0; round < 2; round++ {
		got, n, sum := r.Cumulative(bounds)
		w, wn := want()
		if n != wn || n != 3000*uint64(round+1) {
			t.Fatalf("round %d: total %d, histogram %d, want %d (warm-up excluded)", round, n, wn, 3000*(round+1))
		}
		for i := range bounds {
			if got[i] != w[i] {
				t.Errorf("round %d: bound %v: %d, histogram says %d", round, time.Duration(bounds[i]), got[i], w[i])
			}
		}
		if mean := sum / float64(n); mean < 1.5e6 || mean > 2.5e6 {
			t.Errorf("round %d: mean %v ns, want ~2 ms", round, mean)
		}
		fill(3000)
		r.Roll(start.Add(time.Duration(3+round) * time.Second))
	}
}

// BenchmarkCumulative is the live feed's once-a-second cost per recorder
// (Prometheus histograms): one pass over the kept counts array.
func BenchmarkCumulative(b *testing.B) {
	start := time.Unix(100, 0)
	r := NewRecorder("commit", start, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		r.Record(time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)))
	}
	r.Roll(start.Add(time.Second))
	bounds := []int64{int64(100 * time.Microsecond), int64(time.Millisecond), int64(10 * time.Millisecond), int64(time.Second)}
	r.Cumulative(bounds)
	b.ReportAllocs()
	for b.Loop() {
		r.Cumulative(bounds)
	}
}
