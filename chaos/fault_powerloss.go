package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// powerLossFault kills the store and discards every write its files got
// since their last fsync, as a power cut would (the fault filesystem's
// volatile layer); with tear: true the last unsynced write survives in
// part, torn at a random byte. The store restarts restart_after later and
// must recover; acknowledged events it lost are its RPO.
type powerLossFault struct {
	restartAfter time.Duration
	tear         bool
}

func init() { registerStore("power-loss", func() storeFault { return new(powerLossFault) }) }

func (f *powerLossFault) parse(r *paramReader, sf scenarios.Fault) {
	f.restartAfter = readRestartAfter(r, sf)
	if v, ok := r.lookup("tear"); ok {
		b, isBool := v.(bool)
		if !isBool {
			r.fail("tear: %v is not true or false; write tear: true to tear the last unsynced write", v)
		}
		f.tear = b
	}
}

func (f *powerLossFault) begin(ctx context.Context, s StoreControl) (string, error) {
	if !s.HasFaultFS() {
		return "", errNoFaultFS
	}
	return s.PowerLoss(ctx, f.tear)
}
func (f *powerLossFault) end(ctx context.Context, s StoreControl) error { return s.Start(ctx) }
func (f *powerLossFault) length() time.Duration                         { return f.restartAfter }
func (f *powerLossFault) disk() bool                                    { return true }
func (f *powerLossFault) losesProcess() bool                            { return true }
