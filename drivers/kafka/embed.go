package kafka

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/evbench/evbench/drivers"
)

// Embed starts an in-process kfake cluster of 3 brokers on 127.0.0.1
// (random ports) with its data in memory: kfake is a protocol-faithful test
// broker, not Kafka, and nothing it acks is on disk. dir is unused. The
// harness uses it when the DSN is empty.
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		return nil, fmt.Errorf("kafka: start embedded kfake cluster: %w", err)
	}
	return &EmbeddedCluster{c: c}, nil
}

// EmbeddedCluster is the in-process kfake cluster Embed returns.
type EmbeddedCluster struct{ c *kfake.Cluster }

func (e *EmbeddedCluster) DSN() string { return "kafka://" + strings.Join(e.c.ListenAddrs(), ",") }
func (e *EmbeddedCluster) Describe() string {
	return "kafka (embedded kfake, 3 brokers, in memory: acks are not durable; batch = N independent produces)"
}
func (e *EmbeddedCluster) Close() error { e.c.Close(); return nil }

// Cluster exposes the kfake cluster (tests and the chaos layer use it to
// inject faults or stop brokers).
func (e *EmbeddedCluster) Cluster() *kfake.Cluster { return e.c }
