package nats

import (
	"fmt"
	"github.com/evbench/evbench/drivers/drivertest"
	"testing"

	"github.com/nats-io/nats.go"
)

// BenchmarkEncode measures the driver's encode path: AppendAsync turns every
// event of a batch into a *nats.Msg with toMsg (subject from the key, the
// Nats-Msg-Id and Evbench-* headers, the payload as data) and hands it to
// PublishMsgAsync, which serialises it. Pure CPU: no connection, no server.
func BenchmarkEncode(b *testing.B) {
	cfg, err := ParseDSN("nats://127.0.0.1:4222")
	if err != nil {
		b.Fatal(err)
	}
	d := &Driver{cfg: cfg}
	for _, n := range drivertest.EncodeBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			batch := drivertest.EncodeEvents(n)
			msgs := make([]*nats.Msg, n)
			drivertest.MeasureEncode(b, n, func() {
				for i := range batch {
					msgs[i] = d.toMsg(&batch[i])
				}
			})
		})
	}
}
