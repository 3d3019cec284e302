package gate

import (
	"sort"
	"strings"
)

// Metric units. Latency metrics are in milliseconds (as in result.json), the
// catch-up and rebuild durations in seconds; a duration literal in a gate is
// converted to the metric's unit.
const (
	UnitMS     = "ms"
	UnitS      = "s"
	UnitEvents = "events"
	UnitRate   = "events/s"
	UnitMBps   = "MB/s"
	UnitRatio  = "ratio"
	UnitFlag   = "0/1"
	UnitPct    = "percent"
)

// latencyStats are the statistics every latency distribution offers.
var latencyStats = []string{"p50", "p90", "p95", "p99", "p999", "max", "mean", "min", "count"}

// known maps every metric name a gate may use to its unit.
var known = func() map[string]string {
	m := map[string]string{
		"catch_up.max":                UnitS,
		"catch_up.count":              UnitEvents,
		"catch_up.unrecovered":        UnitEvents,
		"commit_recovery.max":         UnitS,
		"commit_recovery.count":       UnitEvents,
		"commit_recovery.unrecovered": UnitEvents,
		"rebuild.events_per_sec":      UnitRate,
		"rebuild.mb_per_sec":          UnitMBps,
		"rebuild.seconds":             UnitS,
		"rebuild.events":              UnitEvents,
		"delivery.lost":               UnitEvents,
		"delivery.duplicated":         UnitEvents,
		"delivery.reordered":          UnitEvents,
		"delivery.unexpected":         UnitEvents,
		"delivery.undelivered":        UnitEvents,
		"delivery.delivered":          UnitEvents,
		"delivery.ambiguous":          UnitEvents,
		"delivery.misrouted":          UnitEvents,
		"delivery.retry_reordered":    UnitEvents,
		"delivery.ok":                 UnitFlag,
		"events.retried":              UnitEvents,
		"events.gave_up":              UnitEvents,
		"outages.count":               UnitEvents,
		"rpo.events":                  UnitEvents,
		"rto.append.max":              UnitS,
		"rto.projection.max":          UnitS,
		"outages.max":                 UnitS,
		"outages.unrecovered":         UnitEvents,
		"events.scheduled":            UnitEvents,
		"events.sent":                 UnitEvents,
		"events.acked":                UnitEvents,
		"events.failed":               UnitEvents,
		"events.late":                 UnitEvents,
		"events.unsent":               UnitEvents,
		"events.window_full":          UnitEvents,
		"events.failed_rate":          UnitRatio,
		"events.late_rate":            UnitRatio,
		"achieved_rate":               UnitRate,
		"offered_rate":                UnitRate,
		"lag.max":                     UnitEvents,
		"lag.p95":                     UnitEvents,
		"client.limited":              UnitFlag,
		"client.cpu_percent":          UnitPct,
	}
	for _, d := range []string{"commit", "service_time", "e2e", "send_delay", "failed_latency"} {
		for _, s := range latencyStats {
			if s == "count" {
				m[d+"."+s] = UnitEvents
				continue
			}
			m[d+"."+s] = UnitMS
		}
	}
	return m
}()

// Known returns every metric name a gate may use, sorted.
func Known() []string {
	out := make([]string, 0, len(known))
	for k := range known {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Unit returns the unit of a known metric (UnitMS, UnitS, ...) and whether
// the metric is known.
func Unit(metric string) (string, bool) {
	u, ok := known[metric]
	return u, ok
}

// isTime reports whether a unit accepts duration literals.
func isTime(unit string) bool { return unit == UnitMS || unit == UnitS }

// knownList is the one-line list used in "unknown metric" errors.
func knownList() string { return strings.Join(Known(), ", ") }
