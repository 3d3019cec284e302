package postgres

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkFloorCommit is the floor the driver is measured against: one
// durable single-row INSERT per round trip on the same pool, no lock, no
// dedupe.
func BenchmarkFloorCommit(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { floorCommit(b, writers) })
	}
}

func floorCommit(b *testing.B, writers int) {
	d := openTest(b, "&pool=8")
	ctx := context.Background()
	if _, err := d.pool.Exec(ctx, "CREATE TABLE "+d.n.schema+".floor (id bigserial PRIMARY KEY, payload bytea)"); err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 256)
	b.SetParallelism((writers + 1) / 2) // GOMAXPROCS=2 here
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.pool.Exec(ctx, "INSERT INTO "+d.n.schema+".floor (payload) VALUES ($1)", p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
