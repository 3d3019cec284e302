package upcast

import (
	"errors"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TypeVersion names one version of one event type.
type TypeVersion struct {
	Type    string
	Version int
}

// Stats counts what one reader decoded: events read and unreadable by type
// and version as written, events upcast, upcaster steps, and the upcast
// time per upcast event (1 ns to 10 s, 3 significant digits). Not safe for
// concurrent use: one per reader goroutine.
type Stats struct {
	Read       map[TypeVersion]int64
	Unreadable map[TypeVersion]int64
	// Reasons counts unreadable events by Reason.
	Reasons map[Reason]int64
	Upcast  int64 // events that needed at least one upcaster step
	Steps   int64
	cost    *hdr.Histogram
}

// NewStats returns empty counters.
func NewStats() *Stats {
	return &Stats{Read: map[TypeVersion]int64{}, Unreadable: map[TypeVersion]int64{}, Reasons: map[Reason]int64{},
		cost: hdr.New(1, 10_000_000_000, 3)}
}

// Observe counts one Decode result.
func (s *Stats) Observe(ev Event, err error) {
	tv := TypeVersion{ev.Type, ev.Version}
	if err != nil {
		s.Unreadable[tv]++
		var ue *UnreadableError
		if errors.As(err, &ue) {
			s.Reasons[ue.Reason]++
		} else {
			s.Reasons[ReasonMalformed]++
		}
		return
	}
	s.Read[tv]++
	if ev.Upcasts > 0 {
		s.Upcast++
		s.Steps += int64(ev.Upcasts)
		s.cost.RecordValue(max(1, ev.UpcastTime.Nanoseconds()))
	}
}

// Total sums counts.
func Total(m map[TypeVersion]int64) int64 {
	var n int64
	for _, c := range m {
		n += c
	}
	return n
}

// Sorted lists counts by type then version.
func Sorted(m map[TypeVersion]int64) []TypeVersion {
	out := make([]TypeVersion, 0, len(m))
	for tv := range m {
		out = append(out, tv)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// CostNS is the upcast time per upcast event: mean, p99 and max, in ns
// (zeros when nothing was upcast).
func (s *Stats) CostNS() (mean, p99, maxNS float64) {
	if s.cost.TotalCount() == 0 {
		return 0, 0, 0
	}
	return s.cost.Mean(), float64(s.cost.ValueAtQuantile(99)), float64(s.cost.Max())
}
