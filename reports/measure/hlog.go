package measure

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// HlogNames are the interval log files a result directory holds, by metric.
var HlogNames = map[string]string{
	"commit":       "commit.hlog",
	"service_time": "service_time.hlog",
	"e2e":          "e2e.hlog",
	"send_delay":   "send_delay.hlog",
	"failed":       "failed.hlog",
}

// HlogWriter streams interval histograms to a file in the HdrHistogram
// interval log format (v1.3: version comment, StartTime, BaseTime, legend,
// one tagged line per interval, values in ns) that HdrHistogram's
// HistogramLogProcessor and hdrhistogram-go's HistogramLogReader read. Each
// interval is flushed as it is written, so an interrupted or crashed run
// keeps every closed interval. Timestamps are relative to BaseTime (start
// rounded down to the second, since the BaseTime line carries whole seconds).
type HlogWriter struct {
	path   string
	f      *os.File
	bw     *bufio.Writer
	lw     *hdr.HistogramLogWriter
	baseMs int64
	enc    encoder
}

// CreateHlog creates path and writes the log header for a run started at start.
func CreateHlog(path string, start time.Time) (*HlogWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("measure: create interval log %s: %w", path, err)
	}
	w := &HlogWriter{path: path, f: f, bw: bufio.NewWriter(f)}
	if err := w.header(start); err != nil {
		f.Close()
		return nil, fmt.Errorf("measure: write %s: %w", path, err)
	}
	return w, nil
}

func (w *HlogWriter) header(start time.Time) error {
	w.lw = hdr.NewHistogramLogWriter(w.bw)
	startMs := start.UnixMilli()
	baseMs := startMs - startMs%1000
	w.baseMs = baseMs
	w.lw.SetBaseTime(baseMs)
	return errors.Join(
		w.lw.OutputLogFormatVersion(),
		w.lw.OutputComment("Written by evbench; values in nanoseconds"),
		w.lw.OutputStartTime(startMs),
		w.lw.OutputBaseTime(baseMs),
		w.lw.OutputLegend(),
		w.bw.Flush(),
	)
}

// WriteInterval appends one interval (StartTimeMs/EndTimeMs set on h;
// counts in the shared geometry, or nil to take them from h, which must
// then have the shared geometry).
func (w *HlogWriter) WriteInterval(h *hdr.Histogram, counts []int64) error {
	if counts == nil {
		counts = h.Export().Counts
	}
	var maxNs int64
	if h.TotalCount() > 0 {
		maxNs = h.Max()
	}
	if _, err := w.bw.Write(w.enc.intervalLine(h.Tag(), w.baseMs, h.StartTimeMs(), h.EndTimeMs(), maxNs, counts)); err != nil {
		return err
	}
	return w.bw.Flush()
}

// Close flushes and closes the file; it is idempotent.
func (w *HlogWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err != nil {
		return fmt.Errorf("measure: close %s: %w", w.path, err)
	}
	return nil
}

// WriteHlog writes a whole interval log to w (intervals stamped with
// StartTimeMs/EndTimeMs, or derived from their StartS/EndS).
func WriteHlog(w io.Writer, start time.Time, intervals []Interval) error {
	bw := bufio.NewWriter(w)
	hw := &HlogWriter{bw: bw}
	err := hw.header(start)
	startMs := start.UnixMilli()
	for _, iv := range intervals {
		if iv.Hist == nil || err != nil {
			continue
		}
		h := iv.Hist
		if h.StartTimeMs() == 0 {
			h = h.Clone()
			h.SetTag(iv.Hist.Tag())
			h.SetStartTimeMs(startMs + int64(iv.StartS*1000))
			h.SetEndTimeMs(startMs + int64(iv.EndS*1000))
		}
		err = hw.WriteInterval(h, nil)
	}
	return errors.Join(err, bw.Flush())
}

// Interval is one interval histogram with its place on the run's clock.
type Interval struct {
	StartS float64 // seconds since the run's start
	EndS   float64
	Hist   *hdr.Histogram
}

// ReadHlog reads every interval histogram of an interval log; each has
// absolute StartTimeMs/EndTimeMs.
func ReadHlog(path string) ([]*hdr.Histogram, error) {
	var out []*hdr.Histogram
	err := EachInterval(path, func(h *hdr.Histogram) error { out = append(out, h); return nil })
	return out, err
}

// EachInterval calls fn for every interval of an interval log in order,
// holding one decoded histogram at a time.
func EachInterval(path string, fn func(*hdr.Histogram) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("measure: open interval log %s: %w", path, err)
	}
	defer f.Close()
	lr := hdr.NewHistogramLogReader(bufio.NewReader(f))
	for n := 1; ; n++ {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return fmt.Errorf("measure: read interval log %s (interval %d): %w", path, n, err)
		}
		if h == nil {
			return nil
		}
		if err := fn(h); err != nil {
			return err
		}
	}
}

// ReadIntervals returns the intervals of an interval log whose middle lies
// in [fromS, toS) seconds after start: what a window of the run needs,
// without holding the whole run in memory.
func ReadIntervals(path string, start time.Time, fromS, toS float64) ([]Interval, error) {
	base := start.UnixMilli()
	var out []Interval
	err := EachInterval(path, func(h *hdr.Histogram) error {
		iv := Interval{StartS: float64(h.StartTimeMs()-base) / 1000, EndS: float64(h.EndTimeMs()-base) / 1000, Hist: h}
		if mid := (iv.StartS + iv.EndS) / 2; mid >= fromS && mid < toS {
			out = append(out, iv)
		}
		return nil
	})
	return out, err
}
