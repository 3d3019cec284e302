package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/evbench/evbench/drivers/drivertest"
	"testing"
)

// memoryRotate is how many events one store takes before the benchmark
// starts a fresh one (timer stopped), bounding its memory.
const memoryRotate = 1 << 20

// BenchmarkEncode measures the memory driver's whole append cost (it has no
// encoding): Append of a batch into a fresh store, dedupe window, interning
// and chunk growth included. Every append carries new event IDs (stamped in
// the loop, a few ns per event), as the generator's do; a retried ID would
// take the cheaper dedupe path.
func BenchmarkEncode(b *testing.B) {
	ctx := context.Background()
	for _, n := range drivertest.EncodeBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			batch := drivertest.EncodeEvents(n)
			d := New()
			var next uint64
			stored := 0
			drivertest.MeasureEncode(b, n, func() {
				if stored+n > memoryRotate {
					b.StopTimer()
					d, stored = New(), 0
					b.StartTimer()
				}
				for i := range batch {
					next++
					binary.BigEndian.PutUint64(batch[i].ID[8:], next)
				}
				if _, err := d.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
				stored += n
			})
		})
	}
}
