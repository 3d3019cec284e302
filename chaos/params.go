package chaos

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// paramReader reads a fault's inline parameters (the YAML map beside at, for,
// path, kind), remembers which names the kind knows, and keeps the first
// problem as a one-line error naming the parameter and the fix.
type paramReader struct {
	params map[string]any
	known  []string
	err    error
}

func (r *paramReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *paramReader) lookup(name string) (any, bool) {
	r.known = append(r.known, name)
	v, ok := r.params[name]
	return v, ok && v != nil
}

// finish reports the first problem, or an unknown parameter.
func (r *paramReader) finish(kind string) error {
	if r.err != nil {
		return r.err
	}
	var unknown []string
	for k := range r.params {
		found := false
		for _, n := range r.known {
			found = found || n == k
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := append([]string(nil), r.known...)
		sort.Strings(known)
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return fmt.Errorf("%s: unknown parameter for kind %s (known: %s)", unknown[0], kind, list)
	}
	return nil
}

// duration reads a duration written with a unit ("50ms"). A bare number is
// rejected: 50 could be seconds or milliseconds. hint is the unit suggested.
func (r *paramReader) duration(name string, def time.Duration, required bool, hint string) time.Duration {
	v, ok := r.lookup(name)
	if !ok {
		if required {
			r.fail("%s: missing; write e.g. %s: 50%s", name, name, hint)
		}
		return def
	}
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case int, int64, uint64, float64, float32:
		r.fail("%s: \"%v\" has no unit; write %v%s", name, x, x, hint)
		return def
	default:
		r.fail("%s: %v is not a duration; write e.g. 50%s", name, v, hint)
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			r.fail("%s: %q has no unit; write %s%s", name, s, s, hint)
		} else {
			r.fail("%s: %q is not a duration; write e.g. 50%s", name, s, hint)
		}
		return def
	}
	if d < 0 {
		r.fail("%s: %s is negative; write a duration >= 0", name, s)
		return def
	}
	return d
}

// number reads a plain number (int or float in YAML, or a numeric string).
func (r *paramReader) number(name string) (float64, bool) {
	v, ok := r.lookup(name)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil {
			return f, true
		}
	}
	r.fail("%s: %v is not a number; write e.g. %s: 64", name, v, name)
	return 0, false
}

// integer reads a whole number >= min, def when absent.
func (r *paramReader) integer(name string, def, min int64) int64 {
	f, ok := r.number(name)
	if !ok {
		return def
	}
	if f != math.Trunc(f) || f < float64(min) || f > math.MaxInt32 {
		r.fail("%s: %v must be a whole number >= %d", name, f, min)
		return def
	}
	return int64(f)
}

// rateKBps reads a rate in KB/s: a number (KB/s) or a string with a unit
// ("500KB/s", "2MB/s").
func (r *paramReader) rateKBps(name string) int64 {
	v, ok := r.params[name]
	if !ok || v == nil {
		r.lookup(name)
		r.fail("%s: missing; write e.g. %s: 500 (KB/s) or %s: 2MB/s", name, name, name)
		return 0
	}
	if s, isStr := v.(string); isStr {
		r.lookup(name)
		s = strings.TrimSpace(s)
		mult := 1.0
		low := strings.ToLower(s)
		switch {
		case strings.HasSuffix(low, "kb/s"):
			s = s[:len(s)-4]
		case strings.HasSuffix(low, "mb/s"):
			s, mult = s[:len(s)-4], 1024
		case strings.HasSuffix(low, "gb/s"):
			s, mult = s[:len(s)-4], 1024*1024
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			r.fail("%s: %q is not a rate; write e.g. 500KB/s or 2MB/s", name, v)
			return 0
		}
		return r.checkRate(name, f*mult)
	}
	f, ok := r.number(name)
	if !ok {
		return 0
	}
	return r.checkRate(name, f)
}

func (r *paramReader) checkRate(name string, kbps float64) int64 {
	if kbps < 1 || kbps != math.Trunc(kbps) {
		r.fail("%s: %v KB/s must be a whole number >= 1; write e.g. %s: 500", name, kbps, name)
		return 0
	}
	return int64(kbps)
}

// streamData is the default stream of most kinds: the direction that carries
// the path's data, resolved per proxy when the fault is applied: "upstream"
// (requests) on a producer proxy, whose appends flow client→store, and
// "downstream" (responses) on a consumer proxy, whose events flow
// store→client. A proxy shared by both paths (chaos serve) gets "upstream".
// So `latency: 50ms` adds 50 ms once to every append on the producer path
// and to every delivered event on the consumer path.
const streamData = "data"

// streams reads "stream" (data = the path's data direction, upstream =
// client→store requests, downstream = store→client responses, both).
func (r *paramReader) streams(def string) []string {
	v, ok := r.lookup("stream")
	s := def
	if ok {
		str, isStr := v.(string)
		if !isStr {
			r.fail("stream: %v is not a stream; write data, upstream, downstream or both", v)
			return nil
		}
		s = str
	}
	switch s {
	case streamData, "upstream", "downstream":
		return []string{s}
	case "both":
		return []string{"upstream", "downstream"}
	}
	r.fail("stream: unknown stream %q; write data (the path's data direction), upstream (requests), downstream (responses) or both", s)
	return nil
}

// ms converts to Toxiproxy's whole milliseconds, rounding up so a 500µs
// latency is not silently dropped to 0.
func ms(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// toxicsOn builds one toxic per stream.
func toxicsOn(typ string, streams []string, toxicity float64, attrs map[string]any) []toxicSpec {
	out := make([]toxicSpec, 0, len(streams))
	for _, s := range streams {
		out = append(out, toxicSpec{Type: typ, Stream: s, Toxicity: toxicity, Attributes: attrs})
	}
	return out
}
