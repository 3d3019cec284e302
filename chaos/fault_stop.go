package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// stopFault freezes the store's processes (SIGSTOP) for `for`, then lets
// them go on (SIGCONT): a long GC pause, a VM stall, a hung disk. Nothing
// is lost; connections stay open and requests queue.
type stopFault struct{ d time.Duration }

func init() { registerStore("stop", func() storeFault { return new(stopFault) }) }

func (f *stopFault) parse(r *paramReader, sf scenarios.Fault) {
	f.d = sf.For.D()
	if f.d <= 0 {
		r.fail("for: must be > 0 for kind stop (how long the store is frozen); write e.g. for: 5s")
	}
}

func (f *stopFault) begin(_ context.Context, s StoreControl) (string, error) { return "", s.Stop() }
func (f *stopFault) end(_ context.Context, s StoreControl) error             { return s.Cont() }
func (f *stopFault) length() time.Duration                                   { return f.d }
func (f *stopFault) disk() bool                                              { return false }
func (f *stopFault) losesProcess() bool                                      { return false }
