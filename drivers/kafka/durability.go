package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/evbench/evbench/drivers"
)

// kfakeClusterID is the cluster id kfake answers with by default.
const kfakeClusterID = "kfake"

// topicSettings is what the brokers show about the topic: the
// replication factor (metadata) and, when DescribeConfigs is allowed,
// flush.messages and min.insync.replicas.
type topicSettings struct {
	cluster       string
	replicas      int
	flushMessages string // "" when not visible
	minISR        string
	configsErr    error
}

// Durability reads the cluster id and the topic's replication factor from
// the brokers' metadata and the topic's flush.messages and
// min.insync.replicas from DescribeConfigs; acks come from the DSN.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	cl, err := d.client()
	if err != nil {
		return drivers.Durability{}, err
	}
	adm := kadm.NewClient(cl)
	ts := topicSettings{}
	// A topic just created may take a moment to show in every broker's
	// metadata (kfake's and Kafka's alike): look a few times.
	for attempt := 0; ; attempt++ {
		md, err := adm.Metadata(ctx, d.cfg.Topic)
		if err != nil {
			return drivers.Durability{}, fmt.Errorf("kafka: durability: metadata of topic %s: %w", d.cfg.Topic, err)
		}
		ts.cluster = md.Cluster
		if td, ok := md.Topics[d.cfg.Topic]; ok && td.Err == nil {
			for _, p := range td.Partitions {
				ts.replicas = len(p.Replicas)
				break
			}
		}
		if ts.replicas > 0 || attempt == 10 || sleepCtx(ctx, 100*time.Millisecond) != nil {
			break
		}
	}
	if ts.cluster != kfakeClusterID {
		rcs, err := adm.DescribeTopicConfigs(ctx, d.cfg.Topic)
		if err == nil && len(rcs) == 1 && rcs[0].Err != nil {
			err = rcs[0].Err
		}
		if err != nil {
			ts.configsErr = err
		} else {
			for _, c := range rcs[0].Configs {
				switch c.Key {
				case "flush.messages":
					ts.flushMessages = c.MaybeValue()
				case "min.insync.replicas":
					ts.minISR = c.MaybeValue()
				}
			}
		}
	}
	return kafkaDurability(d.cfg.Acks, ts), nil
}

// kafkaDurability decides the label. A Kafka broker fsyncs before its
// produce response only with flush.messages=1 (the log flushes in the
// append path once that many messages are unflushed; followers apply the
// same topic config before they fetch on, so with acks=all every in-sync
// replica flushed). Otherwise it acks from the page cache and relies on
// replication: false. Without DescribeConfigs the policy is not visible:
// unknown.
func kafkaDurability(acks string, ts topicSettings) drivers.Durability {
	d := drivers.Durability{Replication: kafkaReplication(acks, ts)}
	switch {
	case ts.cluster == kfakeClusterID:
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = "kfake (franz-go's in-process test broker): data in memory, nothing acknowledged is on disk"
		d.Source = "Metadata (cluster id kfake), DSN acks"
	case acks == "none":
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = "acks=none: the producer does not wait for any broker"
		d.Source = "DSN acks"
	case ts.flushMessages == "1":
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail = "flush.messages=1: the broker flushes the log before it answers a produce"
		d.Source = "DescribeConfigs (topic flush.messages), Metadata, DSN acks"
	case ts.flushMessages != "":
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail = "flush.messages=" + ts.flushMessages + ": the broker acks from the page cache and flushes in the background (Kafka's default; durability comes from replication)"
		d.Source = "DescribeConfigs (topic flush.messages), Metadata, DSN acks"
	default:
		d.AckAfterFsync = drivers.AckAfterFsyncUnknown
		d.Detail = "the topic's flush policy (flush.messages) is not visible; by default Kafka acks from the page cache, before fsync, and relies on replication"
		d.Source = "Metadata, DSN acks"
		if ts.configsErr != nil {
			d.Source += fmt.Sprintf("; DescribeConfigs: %v", ts.configsErr)
		}
	}
	return d
}

func kafkaReplication(acks string, ts topicSettings) string {
	rf := ""
	if ts.replicas > 0 {
		rf = fmt.Sprintf("; replication factor %d", ts.replicas)
	}
	if ts.minISR != "" {
		rf += ", min.insync.replicas=" + ts.minISR
	}
	switch acks {
	case "all":
		return "acks=all (all in-sync replicas" + rf + ")"
	case "leader":
		return "acks=leader (the leader only" + rf + ")"
	default:
		return "acks=" + acks + " (no broker ack" + rf + ")"
	}
}

// Durability of the embedded kfake cluster: in memory, never durable.
func (e *EmbeddedCluster) Durability(ctx context.Context) (drivers.Durability, error) {
	return drivers.Durability{
		AckAfterFsync: drivers.AckAfterFsyncFalse,
		Replication:   "3 in-memory brokers (acks as the DSN sets them)",
		Detail:        "kfake (franz-go's in-process test broker): data in memory, nothing acknowledged is on disk",
		Source:        "embedded server configuration",
	}, nil
}

var (
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*EmbeddedCluster)(nil)
)
