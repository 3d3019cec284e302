package nats

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// BenchmarkRawPublishAsyncMemory is the bare client on the same setup as
// BenchmarkAppendAsyncMemory (no driver): the driver's overhead is the
// difference.
func BenchmarkRawPublishAsyncMemory(b *testing.B) {
	e := startServer(b)
	d := openFresh(b, e.DSN(), "&storage=memory")
	evs := randomEvents(4096)
	b.SetBytes(256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := &evs[i%len(evs)]
		if _, err := d.js.PublishMsgAsync(&nats.Msg{Subject: d.cfg.prefix() + ev.Key, Data: ev.Payload}); err != nil {
			b.Fatal(err)
		}
	}
	<-d.js.PublishAsyncComplete()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
