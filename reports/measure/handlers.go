package measure

import (
	"fmt"
	"strings"
)

// ConsumerHandling is what the consumers' handling did (consumers.inbox,
// redeliver, failure_rate, retry, dlq, breaker, redrive): present only when
// the scenario asked for any of it. Counts are summed over projectors.
type ConsumerHandling struct {
	Inbox string `json:"inbox"`     // none | memory | postgres
	DLQ   string `json:"dlq_store"` // memory | postgres | store
	// DLQDetail names where the letters went: "in memory", the Postgres
	// table, or the store's own queue (RabbitMQ: "<queue>.dlq").
	DLQDetail   string  `json:"dlq_detail,omitempty"`
	Redeliver   float64 `json:"redeliver"`
	FailureRate float64 `json:"failure_rate"`
	// DuplicatesDelivered are deliveries of an event the projector had been
	// handed before: forced by consumers.redeliver or by the store itself.
	DuplicatesDelivered int64 `json:"duplicates_delivered"`
	// DuplicatesDiscarded are those the inbox recognised and dropped.
	DuplicatesDiscarded int64 `json:"duplicates_discarded"`
	// DuplicatesApplied are events applied to the read model more than once
	// (counted per extra application): 0 with an inbox.
	DuplicatesApplied int64 `json:"duplicates_applied"`
	// Applied counts read-model applications (duplicates applied included).
	Applied int64 `json:"applied"`
	// Retries are handler attempts beyond the first; RetriedEvents the
	// events that needed at least one.
	Retries       int64 `json:"retries"`
	RetriedEvents int64 `json:"retried_events"`
	// RetryE2E is scheduled -> applied of the events applied after a retry:
	// what retries cost the projection (also inside e2e_latency_ms).
	RetryE2E Percentiles `json:"retry_e2e_latency_ms"`
	// DeadLettered are events that exhausted their tries (or whose retries
	// the end of the run cut short) and went to the DLQ; DLQErrors those
	// whose DLQ write failed (not applied and not in the DLQ).
	DeadLettered int64 `json:"dlq"`
	DLQErrors    int64 `json:"dlq_errors"`
	// Redrive: letters replayed from the DLQ after the drain (consumers.redrive)
	// and applied; those the inbox found already applied; those that failed.
	Redriven          int64 `json:"redriven"`
	RedriveDuplicates int64 `json:"redrive_duplicates"`
	RedriveFailed     int64 `json:"redrive_failed"`
	// NotApplied are distinct events the store delivered that the read model
	// never applied: the dead letters not redriven. They do not fail the run
	// by themselves; gate consumers.not_applied == 0 to make them.
	NotApplied int64 `json:"not_applied"`
	// Unaccounted are delivered events neither applied nor waiting in the
	// DLQ: a handling bug; any fails the run.
	Unaccounted int64 `json:"unaccounted"`
	// Breaker: total seconds the breakers were not closed (open, then
	// half-open until a probe succeeded), how often they opened, each pause
	// and each state change.
	BreakerOpenS       float64             `json:"breaker_open_s"`
	BreakerOpens       int                 `json:"breaker_opens"`
	BreakerPauses      []Window            `json:"breaker_pauses,omitempty"`
	BreakerTransitions []BreakerTransition `json:"breaker_transitions,omitempty"`
}

// BreakerTransition is one state change of a projector's circuit breaker.
type BreakerTransition struct {
	Projector int     `json:"projector"`
	AtS       float64 `json:"at_s"`
	From      string  `json:"from"`
	To        string  `json:"to"`
}

// handlingMetrics adds the consumers.* gate metrics (absent without
// consumer handling, so a gate on them fails rather than passing on 0).
func handlingMetrics(r *Result, m map[string]float64) {
	h := r.ConsumerHandling
	if h == nil {
		return
	}
	m["consumers.duplicates_delivered"] = float64(h.DuplicatesDelivered)
	m["consumers.duplicates_applied"] = float64(h.DuplicatesApplied)
	m["consumers.retries"] = float64(h.Retries)
	m["consumers.dlq"] = float64(h.DeadLettered)
	m["consumers.redriven"] = float64(h.Redriven)
	m["consumers.not_applied"] = float64(h.NotApplied)
	m["consumers.unaccounted"] = float64(h.Unaccounted)
	m["consumers.breaker_open_s"] = h.BreakerOpenS
	if h.RetryE2E.Count > 0 {
		m["consumers.retry_e2e.p99"] = h.RetryE2E.P99
		m["consumers.retry_e2e.max"] = h.RetryE2E.Max
	}
}

// Failure says why consumer handling fails the run ("" = it does not):
// events lost inside the handler, never a designed outcome such as a dead
// letter. The runner judges a run by it and merge the merged sums.
func (h *ConsumerHandling) Failure() string {
	if h == nil {
		return ""
	}
	var why []string
	if h.Unaccounted > 0 {
		why = append(why, fmt.Sprintf("%d event(s) neither applied nor dead-lettered", h.Unaccounted))
	}
	if h.DLQErrors > 0 {
		why = append(why, fmt.Sprintf("%d dead letter(s) lost (DLQ write failed)", h.DLQErrors))
	}
	return strings.Join(why, "; ")
}
