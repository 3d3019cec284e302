package reports

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// HandlingText is one line on the consumers' handling (inbox, retries,
// DLQ, breaker, redrive) for the summary and the reports; "" when the
// scenario asked for none.
func HandlingText(r *measure.Result) string {
	h := r.ConsumerHandling
	if h == nil {
		return ""
	}
	var parts []string
	if h.DuplicatesDelivered > 0 || h.Inbox != "none" {
		parts = append(parts, fmt.Sprintf("inbox %s: %d duplicates delivered, %d applied", h.Inbox, h.DuplicatesDelivered, h.DuplicatesApplied))
	}
	if h.Retries > 0 || h.FailureRate > 0 {
		rt := fmt.Sprintf("%d retries over %d events", h.Retries, h.RetriedEvents)
		if p := h.RetryE2E; p.Count > 0 {
			rt += fmt.Sprintf(" (their e2e p50 %s ms, p99 %s ms)", num(p.P50), num(p.P99))
		}
		parts = append(parts, rt)
	}
	where := h.DLQ
	if h.DLQ == "store" && h.DLQDetail != "" {
		where = h.DLQDetail // the store's own queue: name it
	}
	dlq := fmt.Sprintf("DLQ (%s) %d", where, h.DeadLettered)
	if h.Redriven > 0 || h.RedriveFailed > 0 || h.RedriveDuplicates > 0 {
		dlq += fmt.Sprintf(", redriven %d", h.Redriven)
		if h.RedriveDuplicates > 0 {
			dlq += fmt.Sprintf(" (+%d already applied)", h.RedriveDuplicates)
		}
		if h.RedriveFailed > 0 {
			dlq += fmt.Sprintf(", %d failed again", h.RedriveFailed)
		}
	}
	if h.NotApplied > 0 {
		dlq += fmt.Sprintf(", %d not applied", h.NotApplied)
	}
	parts = append(parts, dlq)
	if h.BreakerOpens > 0 {
		parts = append(parts, fmt.Sprintf("breaker opened %d time(s), paused %s s", h.BreakerOpens, num(h.BreakerOpenS)))
	}
	if h.Unaccounted > 0 {
		parts = append(parts, fmt.Sprintf("%d UNACCOUNTED", h.Unaccounted))
	}
	return strings.Join(parts, "; ")
}
