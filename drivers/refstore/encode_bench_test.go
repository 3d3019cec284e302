package refstore

import (
	"fmt"
	"github.com/evbench/evbench/drivers/drivertest"
	"testing"
)

// BenchmarkEncode measures the driver's encode path: send hands pconn.call a
// build func that runs appendFrame (wire.BeginAppend, wire.AppendEvent per
// event, wire.End) straight into the connection's write buffer, which the
// writer goroutine recycles; here one buffer is reused the same way. Pure
// CPU: no connection, no server.
func BenchmarkEncode(b *testing.B) {
	for _, n := range drivertest.EncodeBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			batch := drivertest.EncodeEvents(n)
			var buf []byte
			var id uint32
			drivertest.MeasureEncode(b, n, func() {
				id++
				buf = appendFrame(buf[:0], id, ExpectAny, batch)
			})
		})
	}
}
