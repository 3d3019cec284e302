package gate

import (
	"sort"
	"strings"
)

// Metric units. Latency metrics are in milliseconds (as in result.json), the
// catch-up and rebuild durations in seconds, the upcast cost
// (schema.upcast_ns.*) in nanoseconds; a duration literal in a gate is
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
	UnitNS     = "ns"
)

// latencyStats are the statistics every latency distribution offers.
var latencyStats = []string{"p50", "p90", "p95", "p99", "p999", "max", "mean", "min", "count"}

// known maps every metric name a gate may use to its unit.
var known = func() map[string]string {
	m := map[string]string{
		"catch_up.max":                  UnitS,
		"catch_up.count":                UnitEvents,
		"catch_up.unrecovered":          UnitEvents,
		"commit_recovery.max":           UnitS,
		"commit_recovery.count":         UnitEvents,
		"commit_recovery.unrecovered":   UnitEvents,
		"rebuild.events_per_sec":        UnitRate,
		"rebuild.mb_per_sec":            UnitMBps,
		"rebuild.seconds":               UnitS,
		"rebuild.events":                UnitEvents,
		"delivery.lost":                 UnitEvents,
		"delivery.duplicated":           UnitEvents,
		"delivery.reordered":            UnitEvents,
		"delivery.unexpected":           UnitEvents,
		"delivery.undelivered":          UnitEvents,
		"delivery.delivered":            UnitEvents,
		"delivery.ambiguous":            UnitEvents,
		"delivery.misrouted":            UnitEvents,
		"delivery.retry_reordered":      UnitEvents,
		"delivery.ok":                   UnitFlag,
		"events.retried":                UnitEvents,
		"events.gave_up":                UnitEvents,
		"outages.count":                 UnitEvents,
		"rpo.events":                    UnitEvents,
		"rto.append.max":                UnitS,
		"rto.projection.max":            UnitS,
		"outages.max":                   UnitS,
		"outages.unrecovered":           UnitEvents,
		"events.scheduled":              UnitEvents,
		"events.sent":                   UnitEvents,
		"events.acked":                  UnitEvents,
		"events.failed":                 UnitEvents,
		"events.late":                   UnitEvents,
		"events.unsent":                 UnitEvents,
		"events.window_full":            UnitEvents,
		"events.failed_rate":            UnitRatio,
		"events.late_rate":              UnitRatio,
		"achieved_rate":                 UnitRate,
		"offered_rate":                  UnitRate,
		"lag.max":                       UnitEvents,
		"lag.p95":                       UnitEvents,
		"client.limited":                UnitFlag,
		"client.cpu_percent":            UnitPct,
		"consumer_restart.resume.max":   UnitS,
		"consumer_restart.replayed.max": UnitEvents,
		"consumer_restart.lost":         UnitEvents,
		"consumer_restart.count":        UnitEvents,
		"outbox.relay_lag.p50":          UnitMS,
		"outbox.relay_lag.p95":          UnitMS,
		"outbox.relay_lag.p99":          UnitMS,
		"outbox.relay_lag.max":          UnitMS,
		"outbox.command_commit.p99":     UnitMS,
		"outbox.published":              UnitEvents,
		"outbox.duplicates":             UnitEvents,
		"outbox.relay_errors":           UnitEvents,
		"outbox.unsent":                 UnitEvents,
		"outbox.oldest_unsent.max":      UnitMS,
		"freshness.max":                 UnitS,
		"schema.unreadable":             UnitEvents,
		"schema.canary_unreadable":      UnitEvents,
		"schema.canary_read":            UnitEvents,
		"schema.upcasts":                UnitEvents,
		"schema.upcast_ns.mean":         UnitNS,
		"schema.upcast_ns.p99":          UnitNS,
	}
	for k, u := range consumerMetrics {
		m[k] = u
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
	if u, ok := known[metric]; ok {
		return u, true
	}
	return patternUnit(metric)
}

// patternUnit knows the metric families named after the run's own
// content: freshness.<EventType>.max and .p95 (seconds), for any type name.
func patternUnit(metric string) (string, bool) {
	if rest, ok := strings.CutPrefix(metric, "freshness."); ok {
		if i := strings.LastIndexByte(rest, '.'); i > 0 && (rest[i+1:] == "max" || rest[i+1:] == "p95") {
			return UnitS, true
		}
	}
	return "", false
}

// isTime reports whether a unit accepts duration literals.
func isTime(unit string) bool { return unit == UnitMS || unit == UnitS || unit == UnitNS }

// knownFor is the hint of an "unknown metric" error: the metrics of the
// same family ("commit.*") when there are any, else every family, so the
// line stays short and names what to write.
func knownFor(metric string) string {
	family, _, _ := strings.Cut(metric, ".")
	var same []string
	families := map[string]bool{}
	for _, k := range Known() {
		f, _, dotted := strings.Cut(k, ".")
		if f == family {
			same = append(same, k)
		}
		if dotted {
			f += ".*"
		}
		families[f] = true
	}
	if family == "freshness" {
		same = append(same, "freshness.<EventType>.max", "freshness.<EventType>.p95")
	}
	if len(same) > 0 {
		return "known " + family + " metrics: " + strings.Join(same, ", ")
	}
	families["freshness.<EventType>.max|p95"] = true
	list := make([]string, 0, len(families))
	for f := range families {
		list = append(list, f)
	}
	sort.Strings(list)
	return "known metrics (docs/reports.md lists each): " + strings.Join(list, ", ")
}
