package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// diskErrorFault fails the store's writes or fsyncs with EIO for `for`,
// each call with probability toxicity (default 1): a failing disk. A store
// must stop acknowledging what it could not make durable.
type diskErrorFault struct {
	d        time.Duration
	op       string
	toxicity float64
}

func init() { registerStore("disk-error", func() storeFault { return new(diskErrorFault) }) }

func (f *diskErrorFault) parse(r *paramReader, sf scenarios.Fault) {
	f.d = sf.For.D()
	if f.d <= 0 {
		r.fail("for: must be > 0 for kind disk-error; write e.g. for: 5s")
	}
	f.op = "fsync"
	if v, ok := r.lookup("op"); ok {
		s, _ := v.(string)
		if s != "write" && s != "fsync" {
			r.fail("op: %v is not write or fsync; write op: fsync", v)
		}
		f.op = s
	}
	f.toxicity = 1
	if sf.Toxicity != nil {
		f.toxicity = *sf.Toxicity
		if f.toxicity < 0 || f.toxicity > 1 {
			r.fail("toxicity: %g is outside 0..1; write e.g. toxicity: 0.1", f.toxicity)
		}
	}
}

func (f *diskErrorFault) begin(_ context.Context, s StoreControl) (string, error) {
	return "", s.DiskError(f.op, f.toxicity)
}
func (f *diskErrorFault) end(_ context.Context, s StoreControl) error { return s.DiskClear() }
func (f *diskErrorFault) length() time.Duration                       { return f.d }
func (f *diskErrorFault) disk() bool                                  { return true }
func (f *diskErrorFault) losesProcess() bool                          { return false }
