// Package sqs is the evbench driver for Amazon SQS FIFO queues
// (aws-sdk-go-v2). The event key is the message group, so events of one
// key are delivered in send order; the event ID is the deduplication ID,
// so a retried send within SQS's 5-minute window is not stored twice.
// Appends go in SendMessageBatch calls of at most 10; a projector
// long-polls ReceiveMessage and deletes (acks) what it applied.
//
// SQS is a queue, not a log: a deleted message is gone, so there is no
// replay (rebuild unsupported, declared) and no head offset to read (Head
// and positions are counted in this process). One queue gives each message
// to one consumer, so without sns=true more than one projector is refused
// before load. With sns=true (SNS fan-out, fanout.go) appends go in
// PublishBatch calls to an SNS FIFO topic, and each projector reads its own
// FIFO queue subscribed with raw delivery, so every projector gets every
// event; subscribers=N queues allow N projectors. With an empty DSN the
// harness starts sqsfake (which serves the SNS calls too) in-process and
// the run is labelled emulated.
package sqs

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/sqs/sqsfake"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:        "sqs",
		Description: "Amazon SQS FIFO (SendMessageBatch as commit, message group = key, dedupe id = event ID, delete = ack; one projector, or sns=true&subscribers=N: SNS FIFO topic fanned out to a queue per projector, PublishBatch as commit; no replay); embedded: sqsfake, labelled emulated",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:       func(dsn string) error { _, err := ParseDSN(dsn); return err },
		Embed:          Embed,
		CheckConsumers: CheckConsumers,
	})
}

var errClosed = errors.New("sqs: driver closed")

// Driver is one SQS client on one FIFO queue, or with sns=true an SNS
// client on a FIFO topic and its subscriber queues. Safe for concurrent use.
type Driver struct {
	cfg      Config
	client   *awssqs.Client
	sns      *awssns.Client // sns=true only
	topicArn string         // sns=true only
	queues   []queueRef     // the DSN's queue, or sns=true's subscriber queues
	ledger   *ledger

	mu     sync.Mutex
	inUse  []bool // queues held by a running Subscribe
	closed bool

	closeCtx context.Context
	closeFn  context.CancelFunc
}

var (
	_ drivers.Driver             = (*Driver)(nil)
	_ drivers.Resetter           = (*Driver)(nil)
	_ drivers.Deduplicator       = (*Driver)(nil)
	_ drivers.BatchAtomicity     = (*Driver)(nil)
	_ drivers.DurabilityReporter = (*Driver)(nil)
	_ drivers.EmulationReporter  = (*Driver)(nil)
	_ drivers.ReplayReporter     = (*Driver)(nil)
)

// Open parses dsn, builds the client (credentials from the AWS default
// chain; dummy static ones for an emulator), every HTTP connection through
// the harness's dialer, and creates the FIFO queue when missing. With
// opts.Reset it purges the queue (SQS allows one purge a minute; deleting
// and recreating a queue name needs a 60 s wait).
func Open(ctx context.Context, dsn string, opts drivers.Options) (*Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = opts.Dialer()
		tr.MaxIdleConnsPerHost = 64
	})
	loads := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region), config.WithHTTPClient(httpClient)}
	if cfg.Emulator {
		loads = append(loads, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("emulator", "emulator", "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("sqs: AWS configuration for region %s: %w", cfg.Region, err)
	}
	client := awssqs.NewFromConfig(awsCfg, func(o *awssqs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	d := &Driver{cfg: cfg, client: client}
	if cfg.SNS {
		d.sns = awssns.NewFromConfig(awsCfg, func(o *awssns.Options) {
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		})
		if d.topicArn, d.queues, err = setupFanout(ctx, client, d.sns, cfg); err != nil {
			return nil, err
		}
		d.ledger = ledgerFor(cfg.Endpoint + "|" + d.topicArn)
	} else {
		q, err := createQueue(ctx, client, cfg, cfg.Queue)
		if err != nil {
			return nil, err
		}
		d.queues = []queueRef{q}
		d.ledger = ledgerFor(cfg.Endpoint + "|" + q.url)
	}
	d.inUse = make([]bool, len(d.queues))
	d.closeCtx, d.closeFn = context.WithCancel(context.Background())
	if opts.Reset {
		if err := d.Reset(ctx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Reset purges the queue, or every subscriber queue with sns=true (SNS
// keeps nothing to purge).
func (d *Driver) Reset(ctx context.Context) error {
	for _, q := range d.queues {
		if _, err := d.client.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(q.url)}); err != nil {
			return fmt.Errorf("sqs: reset: purge %s: %w", q.name, err)
		}
	}
	return nil
}

// drop deletes the queues (tests' cleanup; a topic is left).
func (d *Driver) drop(ctx context.Context) {
	for _, q := range d.queues {
		_, _ = d.client.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(q.url)})
	}
}

// Describe says what runs and what the numbers mean.
func (d *Driver) Describe() string {
	where := "Amazon SQS " + d.cfg.Region
	if d.cfg.Emulator {
		where = "SQS emulator at " + d.cfg.Endpoint
	} else if d.cfg.Endpoint != "" {
		where += " at " + d.cfg.Endpoint
	}
	if d.cfg.SNS {
		return fmt.Sprintf("%s, SNS FIFO topic %s fanned out to %d FIFO queue(s) %s-p<i>.fifo (raw delivery, one per projector); head and lag counted in this process; batch = PublishBatch calls of <= 10, each entry accepted alone, delivered to the queues asynchronously",
			where, d.cfg.Topic, len(d.queues), strings.TrimSuffix(d.cfg.Queue, ".fifo"))
	}
	return fmt.Sprintf("%s, FIFO queue %s; head and lag counted in this process; batch = SendMessageBatch calls of <= 10, each entry accepted alone", where, d.cfg.Queue)
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Head is Cursor{0: distinct events this process's sends had accepted}.
// SQS exposes only ApproximateNumberOfMessages (eventually consistent, not
// a head), so lag is this process's accepted sends minus a projector's
// deliveries: exact for a one-process run, blind to senders elsewhere.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return drivers.Cursor{0: d.ledger.head()}, nil
}

// DeduplicatesByID is true: the deduplication ID is the event ID, and SQS
// accepts a retried send within 5 minutes without storing it again. After
// 5 minutes a retry is stored again.
func (d *Driver) DeduplicatesByID() bool { return true }

// BatchAtomic is false: each SendMessageBatch entry succeeds or fails alone,
// and a batch of more than 10 events is several calls.
func (d *Driver) BatchAtomic() bool { return false }

// ReplayUnsupported: a deleted message is gone; SQS has no cursor to read from.
func (d *Driver) ReplayUnsupported() error {
	return fmt.Errorf("sqs: %w: SQS is a queue (a message deleted after processing is gone; there is no cursor to read from)", drivers.ErrUnsupported)
}

// Emulated is true for emulator=true (sqsfake, goaws, LocalStack).
func (d *Driver) Emulated() (bool, string) {
	if !d.cfg.Emulator {
		return false, ""
	}
	return true, "SQS emulator at " + d.cfg.Endpoint
}

// Durability: SQS documents that a sent message is stored redundantly
// across several availability zones before the send succeeds; fsync is not
// visible. An emulator keeps messages in memory.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.cfg.Emulator {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncFalse, Replication: "none (emulator, in memory)",
			Detail: "emulator at " + d.cfg.Endpoint + ": messages kept in memory, an ack is not durable", Source: "DSN (emulator=true)"}, nil
	}
	if d.cfg.SNS {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Replication: "multi-AZ (service documentation)",
			Detail: "PublishBatch succeeds when SNS accepted the message, before it delivers to the subscribed queues (asynchronously; each queue stores it across availability zones); whether acceptance includes an fsync is not exposed",
			Source: "service documentation"}, nil
	}
	return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncUnknown, Replication: "multi-AZ (service documentation)",
		Detail: "SQS stores a message redundantly across availability zones before SendMessage succeeds; whether that includes an fsync is not exposed",
		Source: "service documentation"}, nil
}

// Close ends subscriptions. It is idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.closeFn()
	}
	return nil
}

// body is a message body: SQS bodies must be valid XML characters, so the
// payload travels base64-encoded.
type body struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Seq     uint64 `json:"seq"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Payload string `json:"payload"`
}

func encode(e drivers.Event) string {
	b, _ := json.Marshal(body{ID: hex.EncodeToString(e.ID[:]), Key: e.Key, Seq: e.Seq, Type: e.Type, Created: e.CreatedAt, Payload: base64.StdEncoding.EncodeToString(e.Payload)})
	return string(b)
}

func decode(s string) (drivers.Event, error) {
	var b body
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return drivers.Event{}, fmt.Errorf("sqs: message body is not an evbench event: %w", err)
	}
	e := drivers.Event{Key: b.Key, Seq: b.Seq, Type: b.Type, CreatedAt: b.Created}
	id, err := hex.DecodeString(b.ID)
	if err != nil || len(id) != len(e.ID) {
		return e, fmt.Errorf("sqs: message body: id %q is not a 16-byte hex event ID", b.ID)
	}
	copy(e.ID[:], id)
	if e.Payload, err = base64.StdEncoding.DecodeString(b.Payload); err != nil {
		return e, fmt.Errorf("sqs: message body: payload: %w", err)
	}
	return e, nil
}

// claim takes a free queue for a Subscribe: the one queue, or with
// sns=true one of the subscriber queues, so concurrent subscribers
// (projectors) each get every event. A subscriber that stops and
// subscribes again gets a free queue back and reads what it has not
// deleted.
func (d *Driver) claim() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, errClosed
	}
	for i, busy := range d.inUse {
		if !busy {
			d.inUse[i] = true
			return i, nil
		}
	}
	if d.cfg.SNS {
		return 0, fmt.Errorf("sqs: all %d subscriber queue(s) of SNS topic %s are in use; give one per projector with subscribers=N in the DSN", len(d.inUse), d.cfg.Topic)
	}
	return 0, fmt.Errorf("sqs: queue %s already has a subscriber on this connection; one queue gives each message to one consumer (for several, use SNS fan-out: sns=true&subscribers=N in the DSN)", d.cfg.Queue)
}

func (d *Driver) release(i int) {
	d.mu.Lock()
	d.inUse[i] = false
	d.mu.Unlock()
}

// Subscribe long-polls a free queue (see claim) until ctx ends or deliver
// fails: each received lot (at most 10, FIFO per message group) is
// delivered, then deleted in one DeleteMessageBatch (the ack). A lot whose
// deliver fails is not deleted and comes back after the visibility
// timeout. from only sets where delivered positions count from (the k-th
// delivery is at from[0]+k): there is no replay.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	idx, err := d.claim()
	if err != nil {
		return err
	}
	defer d.release(idx)
	q := d.queues[idx]
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.closeCtx, cancel)
	defer stop()

	next := from[0]
	for {
		out, err := d.client.ReceiveMessage(rctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), MaxNumberOfMessages: maxBatch,
			WaitTimeSeconds: int32(d.cfg.Wait)})
		if rctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.wait(rctx)
			continue // a fault or throttling: poll again
		}
		if len(out.Messages) == 0 {
			continue
		}
		batch := make([]drivers.Delivered, 0, len(out.Messages))
		del := make([]types.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
		for i, m := range out.Messages {
			e, err := decode(aws.ToString(m.Body))
			if err != nil {
				return fmt.Errorf("sqs: queue %s: message %s: %w", q.name, aws.ToString(m.MessageId), err)
			}
			batch = append(batch, drivers.Delivered{Event: e, Position: drivers.Position{Offset: next + int64(i)}})
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if err := deliver(batch); err != nil {
			return err
		}
		next += int64(len(batch))
		if _, err := d.client.DeleteMessageBatch(rctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: del}); err != nil {
			if rctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sqs: delete (ack) %d message(s) from %s: %w", len(del), q.name, err)
		}
	}
}

func (d *Driver) wait(ctx context.Context) {
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// EmbeddedFake is sqsfake serving on a random 127.0.0.1 port.
type EmbeddedFake struct{ srv *sqsfake.Server }

// Embed starts sqsfake (dir unused: it keeps nothing on disk).
func Embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	srv, err := sqsfake.Start()
	if err != nil {
		return nil, err
	}
	return &EmbeddedFake{srv: srv}, nil
}

// DSN addresses the fake with emulator=true, so the run is labelled.
func (e *EmbeddedFake) DSN() string {
	return "sqs://us-east-1/evbench.fifo?emulator=true&wait=1&endpoint=" + e.srv.URL()
}

// Describe names the fake.
func (e *EmbeddedFake) Describe() string {
	return "sqsfake in-process SQS FIFO fake (emulated: in memory, latency figures not meaningful)"
}

// Close stops the fake.
func (e *EmbeddedFake) Close() error { return e.srv.Close() }
