package chaos

import (
	"context"
	"time"

	"github.com/evbench/evbench/scenarios"
)

// diskSlowFault throttles the store's disk for `for` through the fault
// filesystem: fsync_latency and write_latency add to every call, bandwidth
// (KB/s, as the network bandwidth fault) and iops cap writes. Storage
// throttling as a cloud volume out of burst credits shows it.
type diskSlowFault struct {
	d                   time.Duration
	fsyncLat, writeLat  time.Duration
	bandwidthKBps, iops int64
}

func init() { registerStore("disk-slow", func() storeFault { return new(diskSlowFault) }) }

func (f *diskSlowFault) parse(r *paramReader, sf scenarios.Fault) {
	f.d = sf.For.D()
	if f.d <= 0 {
		r.fail("for: must be > 0 for kind disk-slow; write e.g. for: 10s")
	}
	f.fsyncLat = r.duration("fsync_latency", 0, false, "ms")
	f.writeLat = r.duration("write_latency", 0, false, "ms")
	if _, ok := r.params["bandwidth"]; ok {
		f.bandwidthKBps = r.rateKBps("bandwidth")
	} else {
		r.lookup("bandwidth")
	}
	f.iops = r.integer("iops", 0, 0)
	if r.err == nil && f.fsyncLat == 0 && f.writeLat == 0 && f.bandwidthKBps == 0 && f.iops == 0 {
		r.fail("disk-slow: nothing to slow; set fsync_latency, write_latency, bandwidth or iops, e.g. fsync_latency: 20ms")
	}
}

func (f *diskSlowFault) begin(_ context.Context, s StoreControl) (string, error) {
	return "", s.DiskSlow(f.fsyncLat, f.writeLat, f.bandwidthKBps*1024, int(f.iops))
}
func (f *diskSlowFault) end(_ context.Context, s StoreControl) error { return s.DiskClear() }
func (f *diskSlowFault) length() time.Duration                       { return f.d }
func (f *diskSlowFault) disk() bool                                  { return true }
func (f *diskSlowFault) losesProcess() bool                          { return false }
