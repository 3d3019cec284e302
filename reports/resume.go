package reports

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// ConsumerRestartText is one line for all consumer-restart faults, "" when
// there were none: "projector 0 at 1.0 s: resumed in 0.012 s, replayed 37
// (commit every 100 events / 1 s), lost 0; ...".
func ConsumerRestartText(r *measure.Result) string {
	var parts []string
	for _, c := range r.ConsumerRestarts {
		resumed := fmt.Sprintf("resumed in %s s", num(c.ResumeS))
		if !c.Resumed {
			resumed = fmt.Sprintf("NOT resumed (%s s to the end)", num(c.ResumeS))
		}
		parts = append(parts, fmt.Sprintf("projector %d at %s s: %s, replayed %d (commit every %d events / %s s), lost %d",
			c.Projector, num(c.AtS), resumed, c.Replayed, c.CommitEvery, num(c.CommitIntervalS), c.Lost))
	}
	return strings.Join(parts, "; ")
}
