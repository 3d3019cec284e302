package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// BenchmarkAppend measures durable single-event appends (one COMMIT each)
// at 1, 8 and 64 concurrent writers, with and without group commit; b.N
// is the total number of Append calls.
func BenchmarkAppend(b *testing.B) {
	for _, conc := range []int{1, 8, 64} {
		for _, size := range []int{1, 100} {
			for _, gc := range []string{"on", "off"} {
				b.Run(fmt.Sprintf("writers=%d/batch=%d/group_commit=%s", conc, size, gc), func(b *testing.B) {
					d := openTest(b, fmt.Sprintf("&pool=%d&group_commit=%s", min(conc, 32), gc))
					payload := make([]byte, 256)
					for i := range payload {
						payload[i] = 'a' + byte(i%26)
					}
					var ctr atomic.Uint64
					b.SetParallelism((conc + 1) / 2) // GOMAXPROCS=2 here
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						batch := make([]drivers.Event, size)
						for pb.Next() {
							for i := range batch {
								n := ctr.Add(1)
								binary.BigEndian.PutUint64(batch[i].ID[8:], n)
								batch[i].Key = fmt.Sprintf("k%d", n%1000)
								batch[i].Payload = payload
							}
							if _, err := d.Append(context.Background(), batch); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
					if g, e := d.GroupStats(); g > 0 {
						b.ReportMetric(float64(e)/float64(g), "events/commit")
					}
				})
			}
		}
	}
}

// BenchmarkReplay measures a subscriber replaying 20k stored events.
func BenchmarkReplay(b *testing.B) {
	d := openTest(b, "")
	const n = 20000
	batch := make([]drivers.Event, 1000)
	for k := 0; k < n/len(batch); k++ {
		for i := range batch {
			binary.BigEndian.PutUint64(batch[i].ID[8:], uint64(k*len(batch)+i+1))
			batch[i].Key = fmt.Sprintf("k%d", i%100)
			batch[i].Payload = make([]byte, 256)
		}
		if _, err := d.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		got := 0
		d.Subscribe(ctx, nil, func(ev []drivers.Delivered) error {
			got += len(ev)
			if got >= n {
				cancel()
			}
			return nil
		})
		cancel()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
