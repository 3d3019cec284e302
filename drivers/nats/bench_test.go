package nats

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// randomEvents returns n events with random 256 B payloads (compression
// must not flatter the numbers) over 1000 keys.
func randomEvents(n int) []drivers.Event {
	evs := make([]drivers.Event, n)
	for i := range evs {
		p := make([]byte, 256)
		rand.Read(p)
		rand.Read(evs[i].ID[:])
		evs[i].Key = fmt.Sprintf("key-%d", i%1000)
		evs[i].Seq = uint64(i/1000 + 1)
		evs[i].Type = "Bench"
		evs[i].Payload = p
		evs[i].CreatedAt = int64(i)
	}
	return evs
}

// BenchmarkAppendAsync keeps every event in flight at once through
// AppendAsync (one event per call, as the open-loop generator does) against
// the embedded nats-server (file storage, sync=always: every ack after an
// fsync), and with the server's default sync policy (ack before fsync), side
// by side so the cost of durable acks shows as a ratio.
func BenchmarkAppendAsync(b *testing.B) {
	b.Run("sync=always", func(b *testing.B) {
		e, err := EmbedSyncAlways(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		benchAsync(b, openFresh(b, e.DSN(), ""))
	})
	b.Run("sync=default", func(b *testing.B) {
		e, err := Embed(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		benchAsync(b, openFresh(b, e.DSN(), ""))
	})
}

func benchAsync(b *testing.B, d drivers.AsyncAppender) {
	evs := randomEvents(4096)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	b.SetBytes(256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		d.AppendAsync(ctx, evs[i%len(evs):i%len(evs)+1], func(_ []drivers.Position, err error) {
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendAsyncMemory is the same with memory storage: the ceiling
// of the client and server without the disk.
func BenchmarkAppendAsyncMemory(b *testing.B) {
	e := startServer(b)
	d := openFresh(b, e.DSN(), "&storage=memory")
	benchAsync(b, d)
}
