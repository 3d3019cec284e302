package runner

import (
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/reports/measure"
)

// rebuildUnsupported handles consumers.rebuild: end on a driver that
// declared it cannot replay (drivers.ReplayReporter: a queue or an MQTT
// broker keeps no log). A rebuild there has nothing to read, so instead of
// failing the run on a replay the store cannot give, the result says why
// (rebuild_unsupported, and a note) and the run goes on without it. It
// reports whether the rebuild is to be skipped.
func rebuildUnsupported(res *measure.Result, consumer drivers.Driver, logf func(string, ...any)) bool {
	err := drivers.CheckReplay(consumer)
	if err == nil {
		return false
	}
	res.RebuildUnsupported = err.Error()
	res.Notes = append(res.Notes, "consumers.rebuild: end skipped: "+err.Error())
	if logf != nil {
		logf("rebuild skipped: %v", err)
	}
	return true
}
