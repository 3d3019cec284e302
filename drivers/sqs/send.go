package sqs

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evbench/evbench/drivers"
)

// maxBatch is SendMessageBatch's and DeleteMessageBatch's entry limit.
const maxBatch = 10

// Append sends the batch in calls of at most 10, in order, and returns
// when every entry was accepted: SendMessageBatch to the queue, or with
// sns=true PublishBatch to the topic (SNS accepted it; delivery to each
// subscribed queue follows asynchronously). Positions come from the
// process's ledger: a deduplicated retry gets its original position.
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqs: send: %w", err)
	}
	send, target := d.sendQueue, d.cfg.Queue
	if d.cfg.SNS {
		send, target = d.publish, "SNS topic "+d.cfg.Topic
	}
	pos := make([]drivers.Position, 0, len(batch))
	for start := 0; start < len(batch); start += maxBatch {
		chunk := batch[start:min(start+maxBatch, len(batch))]
		r, err := send(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for i, e := range chunk {
			if r.accepted[i] {
				d.ledger.accept(e.ID)
			}
		}
		if r.failed > 0 {
			return nil, fmt.Errorf("sqs: send to %s: %d of %d entries failed, e.g. %s: %s", target, r.failed, len(chunk), r.code, r.msg)
		}
		for _, e := range chunk {
			pos = append(pos, drivers.Position{Offset: d.ledger.position(e.ID)})
		}
	}
	return pos, nil
}

// sent is the outcome of one batch call: which entries were accepted, and
// the first failure's code and message.
type sent struct {
	accepted []bool
	failed   int
	code     string
	msg      string
}

// sendQueue sends one chunk (at most 10) with SendMessageBatch to the
// plain queue.
func (d *Driver) sendQueue(ctx context.Context, chunk []drivers.Event) (sent, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
	for i, e := range chunk {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(encode(e)),
			MessageGroupId: aws.String(e.Key), MessageDeduplicationId: aws.String(hex.EncodeToString(e.ID[:]))}
	}
	q := d.queues[0]
	out, err := d.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return sent{}, fmt.Errorf("sqs: send %d message(s) to %s: %w", len(chunk), q.name, err)
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
