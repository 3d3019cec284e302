package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureTopic creates the topic when missing. An existing topic with fewer
// partitions than asked is an error: per-key ordering and the partition
// count a scenario was written for would silently change.
func (d *Driver) ensureTopic(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	for attempt := 0; ; attempt++ {
		n, exists, err := d.topicPartitions(ctx, adm)
		if err != nil {
			return err
		}
		if exists {
			if n < d.cfg.Partitions {
				return fmt.Errorf("kafka: topic %s has %d partitions, the DSN asks for partitions=%d; use partitions=%d, reset the topic (--reset) or choose another ?topic=",
					d.cfg.Topic, n, d.cfg.Partitions, n)
			}
			d.partitions = n
			return nil
		}
		_, err = adm.CreateTopic(ctx, d.cfg.Partitions, -1, nil, d.cfg.Topic)
		if err == nil {
			d.partitions = d.cfg.Partitions
			d.opts.Log("kafka: created topic %s with %d partitions", d.cfg.Topic, d.cfg.Partitions)
			return nil
		}
		// Another client (the consumer side of the same run) won the race,
		// or a deleted topic is still going away: look again.
		if errors.Is(err, kerr.TopicAlreadyExists) && attempt < 50 {
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("kafka: create topic %s (%d partitions): %w", d.cfg.Topic, d.cfg.Partitions, err)
	}
}

func (d *Driver) topicPartitions(ctx context.Context, adm *kadm.Client) (int32, bool, error) {
	details, err := adm.ListTopics(ctx, d.cfg.Topic)
	if err != nil {
		return 0, false, fmt.Errorf("kafka: describe topic %s: %w", d.cfg.Topic, err)
	}
	td, ok := details[d.cfg.Topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return 0, false, nil
	}
	if td.Err != nil {
		return 0, false, fmt.Errorf("kafka: describe topic %s: %w", d.cfg.Topic, td.Err)
	}
	return int32(len(td.Partitions)), true, nil
}

// resetTopic deletes the topic (if present) and creates it again.
func (d *Driver) resetTopic(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	if _, err := adm.DeleteTopic(ctx, d.cfg.Topic); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("kafka: reset: delete topic %s: %w", d.cfg.Topic, err)
	}
	cl.PurgeTopicsFromClient(d.cfg.Topic)
	return d.ensureTopic(ctx, cl)
}

// Reset drops the topic and recreates it empty. The producer client is
// replaced too: its idempotent sequence numbers belonged to the old topic.
// Appends running concurrently with Reset may fail.
func (d *Driver) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cl == nil {
		return errClosed
	}
	if err := d.resetTopic(ctx, d.cl); err != nil {
		return err
	}
	cl, err := d.newClient(d.producerOpts()...)
	if err != nil {
		return err
	}
	d.cl.Close()
	d.cl = cl
	return nil
}

func sleepCtx(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
