// Command franzgo is the Kafka peer of scripts/bench-peers.sh: a plain
// franz-go producer loop against an in-process kfake cluster started the
// way evbench's embedded kafka driver starts it (drivers/kafka/embed.go:
// kfake.NewCluster(kfake.NumBrokers(3)), data in memory), with the driver's
// producer settings (acks=all, idempotent, no compression, no linger,
// murmur2 key partitioner, 12 partitions).
//
// It produces random records of -size bytes, keyed uniformly over -keys
// keys, asynchronously with at most -window records in flight, for
// -duration, then prints one JSON line: records acknowledged per second and
// produce latency (Produce call -> ack) p50/p99/max in milliseconds. It is
// a closed loop: the next record goes out as soon as the window has room,
// so its rate is the client's and kfake's peak, not a sustainable
// open-loop rate.
//
//	go run ./scripts/peers/franzgo -duration 10s -size 400 -window 1024
//
// kfake is a protocol-faithful test broker, not Kafka: nothing is on disk.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

type result struct {
	Peer       string  `json:"peer"`
	Brokers    int     `json:"brokers"`
	Partitions int32   `json:"partitions"`
	Size       int     `json:"size"`
	Window     int     `json:"window"`
	Seconds    float64 `json:"seconds"`
	Acked      int64   `json:"acked"`
	Failed     int64   `json:"failed"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to produce")
	size := flag.Int("size", 400, "record value bytes (random content)")
	window := flag.Int("window", 1024, "records in flight at most")
	partitions := flag.Int("partitions", 12, "topic partitions")
	keys := flag.Int("keys", 10000, "distinct record keys, picked uniformly")
	brokers := flag.Int("brokers", 3, "kfake brokers")
	flag.Parse()
	if *duration <= 0 || *size < 1 || *window < 1 || *partitions < 1 || *keys < 1 || *brokers < 1 {
		fmt.Fprintln(os.Stderr, "franzgo: -duration, -size, -window, -partitions, -keys and -brokers must be positive")
		os.Exit(2)
	}
	res, err := run(*duration, *size, *window, int32(*partitions), *keys, *brokers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "franzgo:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func run(duration time.Duration, size, window int, partitions int32, nkeys, brokers int) (result, error) {
	res := result{Peer: "franz-go producer loop on kfake", Brokers: brokers, Partitions: partitions, Size: size, Window: window}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(brokers))
	if err != nil {
		return res, fmt.Errorf("start kfake: %w", err)
	}
	defer cluster.Close()

	const topic = "peer"
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.ClientID("evbench-peer-franzgo"),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(0),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordDeliveryTimeout(5*time.Second),
		kgo.MaxBufferedRecords(window+1),
	)
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), duration+30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, nil, topic); err != nil {
		return res, fmt.Errorf("create topic: %w", err)
	}

	// Pre-generated random values and keys: the loop measures the client and
	// broker, not the random generator. 4096 distinct values defeat any
	// compression or deduplication a broker might do.
	values := make([][]byte, 4096)
	for i := range values {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(rand.Uint32())
		}
		values[i] = v
	}
	keyBytes := make([][]byte, nkeys)
	for i := range keyBytes {
		keyBytes[i] = []byte("order-" + strconv.Itoa(i))
	}

	hist := hdrhistogram.New(1, int64(time.Minute), 3) // ns
	var mu sync.Mutex
	var acked, failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, window)
	var wg sync.WaitGroup

	start := time.Now()
	deadline := start.Add(duration)
	for n := 0; time.Now().Before(deadline); n++ {
		sem <- struct{}{}
		wg.Add(1)
		r := &kgo.Record{Key: keyBytes[rand.IntN(nkeys)], Value: values[n%len(values)]}
		t0 := time.Now()
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			lat := time.Since(t0)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			} else {
				acked.Add(1)
				mu.Lock()
				hist.RecordValue(int64(lat))
				mu.Unlock()
			}
			<-sem
			wg.Done()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	res.Seconds = elapsed.Seconds()
	res.Acked, res.Failed = acked.Load(), failed.Load()
	res.MsgsPerSec = float64(res.Acked) / res.Seconds
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	res.P50Ms = ms(hist.ValueAtQuantile(50))
	res.P99Ms = ms(hist.ValueAtQuantile(99))
	res.MaxMs = ms(hist.Max())
	if res.Acked == 0 {
		err, _ := firstErr.Load().(error)
		return res, errors.Join(errors.New("no record was acknowledged"), err)
	}
	return res, nil
}
