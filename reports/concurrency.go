package reports

import (
	"fmt"

	"github.com/evbench/evbench/reports/measure"
)

// ConcurrencyText is optimistic concurrency in one line: how many
// commands, how often their appends met a moved stream, the retries that
// cost, and the commands that gave up; "" without events.concurrency.
func ConcurrencyText(r *measure.Result) string {
	c := r.Concurrency
	if c == nil {
		return ""
	}
	s := fmt.Sprintf("%d commands by %d writers per key: %d conflicts in %d appends (conflict rate %s%%); retries per command mean %s, max %d",
		c.Commands, c.WritersPerKey, c.Conflicts, c.Attempts, num(100*c.ConflictRate), num(c.RetriesPerCommand.Mean), c.RetriesPerCommand.Max)
	if c.GaveUp > 0 {
		s += fmt.Sprintf("; %d gave up after %d retries (failed, nothing written)", c.GaveUp, c.MaxRetries)
	}
	return s
}
