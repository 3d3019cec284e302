package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaEveryBrokerBehindItsOwnProxy shows that a franz-go client given
// the chaos Dialer reaches every broker of a 3-broker cluster through a
// proxy (one per advertised broker address it uses), and that a partition on its
// path stops every produce: no connection bypasses the proxies.
func TestKafkaEveryBrokerBehindItsOwnProxy(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	c := newInprocChaos(t)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.Dialer(c.Dialer(PathProducer)),
		kgo.DefaultProduceTopic("t"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DisableIdempotentWrite(), // an idempotent producer hangs forever on a partition (NOTES.md)
		kgo.RequestTimeoutOverhead(time.Second),
		kgo.ProduceRequestTimeout(time.Second),
		kgo.RecordDeliveryTimeout(2*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.MetadataMinAge(250*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	produceAll := func(timeout time.Duration) []error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var recs []*kgo.Record
		for p := int32(0); p < 3; p++ { // one record per partition: every leader
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte(fmt.Sprint(p))})
		}
		var errs []error
		for _, r := range cl.ProduceSync(ctx, recs...) {
			errs = append(errs, r.Err)
		}
		return errs
	}
	for i, err := range produceAll(10 * time.Second) {
		if err != nil {
			t.Fatalf("produce %d before the fault: %v", i, err)
		}
	}
	brokers := map[string]bool{}
	for _, a := range cluster.ListenAddrs() {
		brokers[a] = true
	}
	ps := c.Proxies()
	if len(ps) == 0 {
		t.Fatal("no proxy was created: the client did not use the dialer")
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if !brokers[p.Upstream] || seen[p.Upstream] {
			t.Fatalf("proxy %s -> %s: want one proxy per broker address %v", p.Name, p.Upstream, cluster.ListenAddrs())
		}
		seen[p.Upstream] = true
	}

	startFaults(t, c, fault("partition", PathProducer, "0s", "1m", nil))
	for i, err := range produceAll(3 * time.Second) {
		if err == nil {
			t.Fatalf("produce %d succeeded during a producer partition: a connection bypassed the proxy", i)
		}
	}
}
