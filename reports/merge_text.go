package reports

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// MergeText says, for a result evbench merge wrote, what went in and how
// far apart the shards' clocks were: "" for a result of one process.
func MergeText(r *measure.Result) string {
	mi := r.Merge
	if mi == nil {
		return ""
	}
	s := fmt.Sprintf("merged from %d of %d shards (run %s)", mi.Shards, mi.Count, orDash(mi.RunID))
	if len(mi.Missing) > 0 {
		parts := make([]string, len(mi.Missing))
		for i, m := range mi.Missing {
			parts[i] = fmt.Sprint(m)
		}
		s += ", missing shard(s) " + strings.Join(parts, ", ")
	}
	s += fmt.Sprintf("; clock skew %s ms (%s)", num(mi.MaxSkewMS), mi.SkewMethod)
	if mi.SkewFlagged {
		s += fmt.Sprintf(", above the %s ms tolerated", num(mi.SkewThresholdMS))
	}
	return s
}
