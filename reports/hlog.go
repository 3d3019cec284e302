package reports

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
}

// WriteHlog writes intervals in the HdrHistogram interval log format (v1.3:
// version comment, StartTime, BaseTime, legend, one tagged line per
// interval, values in ns) that HdrHistogram's HistogramLogProcessor and
// hdrhistogram-go's HistogramLogReader read. Timestamps are relative to
// BaseTime (start rounded down to the second, since the BaseTime line
// carries whole seconds).
func WriteHlog(w io.Writer, start time.Time, intervals []Interval) error {
	bw := bufio.NewWriter(w)
	lw := hdr.NewHistogramLogWriter(bw)
	startMs := start.UnixMilli()
	baseMs := startMs - startMs%1000
	lw.SetBaseTime(baseMs)
	err := errors.Join(
		lw.OutputLogFormatVersion(),
		lw.OutputComment("Written by evbench; values in nanoseconds"),
		lw.OutputStartTime(startMs),
		lw.OutputBaseTime(baseMs),
		lw.OutputLegend(),
	)
	for _, iv := range intervals {
		if iv.Hist == nil {
			continue
		}
		h := iv.Hist
		if h.StartTimeMs() == 0 { // not stamped by a Recorder: derive from StartS
			h = h.Clone()
			h.SetTag(iv.Hist.Tag())
			h.SetStartTimeMs(startMs + int64(iv.StartS*1000))
			h.SetEndTimeMs(startMs + int64(iv.EndS*1000))
		}
		if e := lw.OutputIntervalHistogram(h); e != nil {
			err = errors.Join(err, e)
			break
		}
	}
	return errors.Join(err, bw.Flush())
}

// ReadHlog reads every interval histogram of an interval log; each has
// absolute StartTimeMs/EndTimeMs.
func ReadHlog(path string) ([]*hdr.Histogram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reports: open interval log %s: %w", path, err)
	}
	defer f.Close()
	lr := hdr.NewHistogramLogReader(f)
	var out []*hdr.Histogram
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return out, fmt.Errorf("reports: read interval log %s (interval %d): %w", path, len(out)+1, err)
		}
		if h == nil {
			return out, nil
		}
		out = append(out, h)
	}
}

// writeHlogFile writes one .hlog file.
func writeHlogFile(path string, start time.Time, intervals []Interval) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reports: create %s: %w", path, err)
	}
	err = WriteHlog(f, start, intervals)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return nil
}
