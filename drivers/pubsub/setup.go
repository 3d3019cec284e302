package pubsub

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func (d *Driver) topicName() string { return "projects/" + d.cfg.Project + "/topics/" + d.cfg.Topic }

func (d *Driver) subName(i int) string {
	return "projects/" + d.cfg.Project + "/subscriptions/" + d.cfg.subscriptionID(i)
}

// ensure creates the topic and the subscriptions when missing. An existing
// subscription without message ordering, or on another topic, is an error:
// ordering cannot be switched on after creation, and without it per-key
// order would be broken silently.
func (d *Driver) ensure(ctx context.Context) error {
	_, err := d.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: d.topicName()})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("pubsub: create topic %s: %w", d.topicName(), err)
	}
	for i := 0; i < d.cfg.Subscriptions; i++ {
		name := d.subName(i)
		_, err := d.client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: name, Topic: d.topicName(), EnableMessageOrdering: true, AckDeadlineSeconds: int32(d.cfg.AckDeadline),
		})
		if err == nil {
			continue
		}
		if status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("pubsub: create subscription %s: %w", name, err)
		}
		s, err := d.client.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
		if err != nil {
			return fmt.Errorf("pubsub: read subscription %s: %w", name, err)
		}
		if !s.EnableMessageOrdering {
			return fmt.Errorf("pubsub: subscription %s exists without message ordering (it cannot be enabled later); delete it, pick another subscription_prefix, or run with --reset", name)
		}
		if s.Topic != d.topicName() {
			return fmt.Errorf("pubsub: subscription %s reads topic %s, not %s; pick another subscription_prefix", name, s.Topic, d.topicName())
		}
	}
	return nil
}

// Reset deletes the DSN's subscriptions (dropping their backlog) and the
// topic, then creates them again.
func (d *Driver) Reset(ctx context.Context) error {
	for i := 0; i < d.cfg.Subscriptions; i++ {
		err := d.client.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: d.subName(i)})
		if err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("pubsub: reset: delete subscription %s: %w", d.subName(i), err)
		}
	}
	err := d.client.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: d.topicName()})
	if err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("pubsub: reset: delete topic %s: %w", d.topicName(), err)
	}
	return d.ensure(ctx)
}

// drop deletes the subscriptions and the topic (tests' cleanup).
func (d *Driver) drop(ctx context.Context) {
	for i := 0; i < d.cfg.Subscriptions; i++ {
		_ = d.client.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: d.subName(i)})
	}
	_ = d.client.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: d.topicName()})
}
