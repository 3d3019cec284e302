package gate

// consumerMetrics are the metrics of consumer handling (inbox, retries,
// DLQ, circuit breaker, redrive): result.json consumer_handling.
var consumerMetrics = map[string]string{
	"consumers.duplicates_delivered": UnitEvents,
	"consumers.duplicates_applied":   UnitEvents,
	"consumers.retries":              UnitEvents,
	"consumers.dlq":                  UnitEvents,
	"consumers.redriven":             UnitEvents,
	"consumers.not_applied":          UnitEvents,
	"consumers.unaccounted":          UnitEvents,
	"consumers.breaker_open_s":       UnitS,
	"consumers.retry_e2e.p99":        UnitMS,
	"consumers.retry_e2e.max":        UnitMS,
}
