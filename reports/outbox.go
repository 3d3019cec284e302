package reports

import (
	"fmt"

	"github.com/evbench/evbench/reports/measure"
)

// OutboxText is the transactional outbox in one line: relay lag, what the
// relays published, the duplicates their crashes caused; "" without an
// outbox.
func OutboxText(r *measure.Result) string {
	o := r.Outbox
	if o == nil {
		return ""
	}
	lag := "no relay lag samples"
	if p := o.RelayLag; p.Count > 0 {
		lag = fmt.Sprintf("relay lag p50 %s ms, p99 %s ms, max %s ms", num(p.P50), num(p.P99), num(p.Max))
	}
	s := fmt.Sprintf("%s; %d relay(s) published %d events in %d batches; command commit p99 %s ms",
		lag, o.Relays, o.Published, o.Batches, num(o.CommandCommit.P99))
	if o.BacklogMax > 0 {
		s += fmt.Sprintf("; backlog max %d rows, oldest unsent %s ms", o.BacklogMax, num(o.OldestUnsentMaxMS))
	}
	if o.RelayCrashes > 0 || o.Duplicates > 0 {
		s += fmt.Sprintf("; %d relay crash(es) republished %d events (duplicates)", o.RelayCrashes, o.Duplicates)
	}
	if o.RelayErrors > 0 {
		s += fmt.Sprintf("; %d failed publishes retried", o.RelayErrors)
	}
	if o.Unsent > 0 {
		s += fmt.Sprintf("; %d rows left unsent", o.Unsent)
	}
	return s
}
