package pubsub

import "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

type (
	pubsubpbTopic        = pubsubpb.Topic
	pubsubpbSubscription = pubsubpb.Subscription
)
