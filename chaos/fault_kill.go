package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// defaultRestartAfter is how long a killed store stays down by default.
const defaultRestartAfter = time.Second

// killFault SIGKILLs the store's process: a crash. The store comes back
// restart_after (default 1s) later on the same data and port, and must
// recover what it acknowledged.
type killFault struct{ restartAfter time.Duration }

func init() { registerStore("kill", func() storeFault { return new(killFault) }) }

func (f *killFault) parse(r *paramReader, sf scenarios.Fault) {
	f.restartAfter = readRestartAfter(r, sf)
}

func (f *killFault) begin(_ context.Context, s StoreControl) (string, error) { return "", s.Kill() }
func (f *killFault) end(ctx context.Context, s StoreControl) error           { return s.Start(ctx) }
func (f *killFault) length() time.Duration                                   { return f.restartAfter }
func (f *killFault) disk() bool                                              { return false }
func (f *killFault) losesProcess() bool                                      { return true }

// readRestartAfter reads restart_after for kill and power-loss; for is not
// theirs (the store is down for restart_after).
func readRestartAfter(r *paramReader, sf scenarios.Fault) time.Duration {
	d := r.duration("restart_after", defaultRestartAfter, false, "s")
	if d < 0 {
		r.fail("restart_after: %s is negative; write e.g. restart_after: 1s", d)
	}
	if sf.For != 0 {
		r.fail("for: %s does not apply to kind %s: the store is down for restart_after (default 1s); remove for", sf.For, sf.Kind)
	}
	return d
}
