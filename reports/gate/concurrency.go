package gate

// concurrencyMetrics are the metrics of optimistic concurrency
// (events.concurrency): result.json concurrency.
var concurrencyMetrics = map[string]string{
	"concurrency.commands":                UnitEvents,
	"concurrency.conflicts":               UnitEvents,
	"concurrency.conflict_rate":           UnitRatio,
	"concurrency.retries_per_command":     UnitEvents,
	"concurrency.retries_per_command.max": UnitEvents,
	"concurrency.gave_up":                 UnitEvents,
}

func init() {
	for k, u := range concurrencyMetrics {
		known[k] = u
	}
}
