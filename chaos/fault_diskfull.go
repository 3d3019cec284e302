package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// diskFullFault makes the store's disk full for `for`: writes that would
// grow its data by more than free bytes (default 0) fail with ENOSPC.
type diskFullFault struct {
	d    time.Duration
	free int64
}

func init() { registerStore("disk-full", func() storeFault { return new(diskFullFault) }) }

func (f *diskFullFault) parse(r *paramReader, sf scenarios.Fault) {
	f.d = sf.For.D()
	if f.d <= 0 {
		r.fail("for: must be > 0 for kind disk-full; write e.g. for: 5s")
	}
	f.free = r.integer("free", 0, 0)
}

func (f *diskFullFault) begin(_ context.Context, s StoreControl) (string, error) {
	return "", s.DiskFull(f.free)
}
func (f *diskFullFault) end(_ context.Context, s StoreControl) error { return s.DiskClear() }
func (f *diskFullFault) length() time.Duration                       { return f.d }
func (f *diskFullFault) disk() bool                                  { return true }
func (f *diskFullFault) losesProcess() bool                          { return false }
