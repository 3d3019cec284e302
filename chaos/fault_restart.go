package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// restartFault restarts the store gracefully (SIGTERM or its own fast
// shutdown, then start on the same data): a rolling upgrade. for is not
// used; the fault lasts as long as the restart takes.
type restartFault struct{}

func init() { registerStore("restart", func() storeFault { return new(restartFault) }) }

func (f *restartFault) parse(r *paramReader, sf scenarios.Fault) {
	if sf.For != 0 {
		r.fail("for: %s does not apply to kind restart (it lasts as long as the restart); remove for", sf.For)
	}
}

func (f *restartFault) begin(ctx context.Context, s StoreControl) (string, error) {
	return "", s.Restart(ctx)
}
func (f *restartFault) end(context.Context, StoreControl) error { return nil }
func (f *restartFault) length() time.Duration                   { return 0 }
func (f *restartFault) disk() bool                              { return false }
func (f *restartFault) losesProcess() bool                      { return true }
