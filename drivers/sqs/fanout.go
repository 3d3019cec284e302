package sqs

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evbench/evbench/drivers"
)

// SNS fan-out (sns=true): appends publish to one SNS FIFO topic, and each
// projector reads its own SQS FIFO queue subscribed to the topic with raw
// message delivery, so every projector gets every event (a lone queue
// would split them). Raw delivery passes the message through unchanged as
// the SQS body, so the receive side decodes what the plain SQS path sends;
// the group and deduplication IDs carry over, so each queue keeps per-key
// order and drops a deduplicated retry.

// queueRef is one queue a Subscribe can read.
type queueRef struct{ name, url string }

// createQueue creates (or finds: CreateQueue is idempotent for the same
// attributes) a FIFO queue with the DSN's visibility timeout.
func createQueue(ctx context.Context, client *awssqs.Client, cfg Config, name string) (queueRef, error) {
	out, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": strconv.Itoa(cfg.Visibility),
	}})
	if err != nil {
		return queueRef{}, fmt.Errorf("sqs: create queue %s in %s: %w", name, cfg.Region, err)
	}
	return queueRef{name: name, url: aws.ToString(out.QueueUrl)}, nil
}

// setupFanout creates, when missing, the FIFO topic, one FIFO queue per
// subscriber, each queue's policy letting the topic send to it, and the
// raw-delivery subscriptions. Every step is idempotent, so a second Open
// (another connection of the run, or a later run) finds what the first
// made. It returns the topic ARN and the queues in subscriber order.
func setupFanout(ctx context.Context, sqsc *awssqs.Client, snsc *awssns.Client, cfg Config) (string, []queueRef, error) {
	t, err := snsc.CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String(cfg.Topic), Attributes: map[string]string{
		"FifoTopic": "true", "ContentBasedDeduplication": "false",
	}})
	if err != nil {
		return "", nil, fmt.Errorf("sqs: sns=true: create SNS FIFO topic %s in %s: %w", cfg.Topic, cfg.Region, err)
	}
	topicArn := aws.ToString(t.TopicArn)
	var queues []queueRef
	for _, name := range cfg.SubscriberQueues() {
		q, err := createQueue(ctx, sqsc, cfg, name)
		if err != nil {
			return "", nil, err
		}
		attrs, err := sqsc.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn, types.QueueAttributeNamePolicy}})
		if err != nil {
			return "", nil, fmt.Errorf("sqs: sns=true: read the ARN of queue %s: %w", name, err)
		}
		queueArn := attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
		switch policy := attrs.Attributes[string(types.QueueAttributeNamePolicy)]; {
		case strings.Contains(policy, topicArn):
		case strings.TrimSpace(policy) != "":
			// Someone else's policy: never overwritten.
			return "", nil, fmt.Errorf("sqs: sns=true: queue %s has a policy that does not name topic %s, and evbench replaces only an empty one; add a statement allowing principal sns.amazonaws.com sqs:SendMessage on %s with condition aws:SourceArn = %s, or use another queue name",
				name, cfg.Topic, queueArn, topicArn)
		default:
			if _, err := sqsc.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(q.url),
				Attributes: map[string]string{string(types.QueueAttributeNamePolicy): queuePolicy(queueArn, topicArn)}}); err != nil {
				return "", nil, fmt.Errorf("sqs: sns=true: set the policy of queue %s letting topic %s send to it: %w", name, cfg.Topic, err)
			}
		}
		if _, err := snsc.Subscribe(ctx, &awssns.SubscribeInput{TopicArn: aws.String(topicArn), Protocol: aws.String("sqs"),
			Endpoint: aws.String(queueArn), Attributes: map[string]string{"RawMessageDelivery": "true"}, ReturnSubscriptionArn: true}); err != nil {
			return "", nil, fmt.Errorf("sqs: sns=true: subscribe queue %s to topic %s: %w", name, cfg.Topic, err)
		}
		queues = append(queues, q)
	}
	return topicArn, queues, nil
}

// queuePolicy lets SNS send to queueArn on behalf of topicArn only. It is
// set only on a queue without a policy (one the driver created).
func queuePolicy(queueArn, topicArn string) string {
	p := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "evbench-sns-fanout",
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": "sns.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueArn,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": topicArn}},
		}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// publish sends one chunk (at most 10) with PublishBatch: SNS accepted an
// entry when it answers it successful, before delivering it to the queues.
func (d *Driver) publish(ctx context.Context, chunk []drivers.Event) (sent, error) {
	entries := make([]snstypes.PublishBatchRequestEntry, len(chunk))
	for i, e := range chunk {
		entries[i] = snstypes.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(encode(e)),
			MessageGroupId: aws.String(e.Key), MessageDeduplicationId: aws.String(hex.EncodeToString(e.ID[:]))}
	}
	out, err := d.sns.PublishBatch(ctx, &awssns.PublishBatchInput{TopicArn: aws.String(d.topicArn), PublishBatchRequestEntries: entries})
	if err != nil {
		return sent{}, fmt.Errorf("sqs: publish %d message(s) to SNS topic %s: %w", len(chunk), d.cfg.Topic, err)
	}
	r := sent{accepted: make([]bool, len(chunk)), failed: len(out.Failed)}
	for _, s := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(s.Id)); err == nil && i >= 0 && i < len(chunk) {
			r.accepted[i] = true
		}
	}
	if len(out.Failed) > 0 {
		r.code, r.msg = aws.ToString(out.Failed[0].Code), aws.ToString(out.Failed[0].Message)
	}
	return r, nil
}
