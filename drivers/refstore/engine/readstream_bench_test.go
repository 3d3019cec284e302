package engine

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkReadStream reads one whole stream from a 200,000-event log of
// 256-byte payloads: "spread" is one of 1,000 round-robin streams (200
// events scattered over the whole log, so the read scans all of it),
// "contiguous" a 1,000-event stream appended in one run at the end.
func BenchmarkReadStream(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Sync: SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payload := make([]byte, 256)
	const n, streams = 200000, 1000
	evs := make([]Event, 0, 1000)
	var id [16]byte
	seq := uint64(0)
	add := func(stream string) {
		seq++
		id[0], id[1], id[2], id[3] = byte(seq), byte(seq>>8), byte(seq>>16), byte(seq>>24)
		evs = append(evs, Event{ID: id, Stream: stream, Seq: seq, Type: "T", Payload: payload})
		if len(evs) == cap(evs) {
			if _, err := l.Append(context.Background(), AppendRequest{Expected: ExpectAny, Events: evs}); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	for i := 0; i < n; i++ {
		add("order-" + strconv.Itoa(i%streams))
	}
	for i := 0; i < 1000; i++ {
		add("contiguous")
	}
	for _, c := range []struct {
		name, stream string
		want         int
	}{{"spread", "order-7", n / streams}, {"contiguous", "contiguous", 1000}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				recs, err := l.ReadStream(c.stream, 0, 10000)
				if err != nil || len(recs) != c.want {
					b.Fatalf("%d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(c.want*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
