package kafka

import (
	"fmt"
	"github.com/evbench/evbench/drivers/drivertest"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkEncode measures the driver's encode path: AppendAsync turns every
// event of a batch into a *kgo.Record with toRecord (key, value and the
// id/seq/type/created_at text headers) and hands it to franz-go, which
// serialises the record batches itself. Pure CPU: no client, no broker.
func BenchmarkEncode(b *testing.B) {
	for _, n := range drivertest.EncodeBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			batch := drivertest.EncodeEvents(n)
			recs := make([]*kgo.Record, n)
			drivertest.MeasureEncode(b, n, func() {
				for i := range batch {
					recs[i] = toRecord(&batch[i])
				}
			})
		})
	}
}
