package sqs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestConformanceFanout runs the queue conformance suite over SNS fan-out
// with two subscriber queues (each test's Subscribe reads one of them).
func TestConformanceFanout(t *testing.T) {
	ep := startFake(t)
	drivertest.RunQueue(t, func(t *testing.T) drivers.Driver { return openFresh(t, ep, "&sns=true&subscribers=2") })
}

// TestEachSubscriberGetsEveryEvent: two concurrent subscribers (two
// projectors) each receive every event once, in per-key order, a retried
// publish included; a third finds no free queue.
func TestEachSubscriberGetsEveryEvent(t *testing.T) {
	d := openFresh(t, startFake(t), "&sns=true&subscribers=2")
	evs := drivertest.Events(40, 8)
	if _, err := d.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Append(context.Background(), evs[:15]); err != nil { // a retry: deduplicated by event ID
		t.Fatal(err)
	}
	if h, _ := d.Head(context.Background()); h.Total() != int64(len(evs)) {
		t.Errorf("head %v after %d distinct events", h, len(evs))
	}
	type result struct {
		n        int
		outOfKey string
	}
	results := make(chan result, 2)
	var started sync.WaitGroup
	started.Add(2)
	for i := 0; i < 2; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var r result
			last := map[string]uint64{}
			first, done := true, false
			_ = d.Subscribe(ctx, nil, func(b []drivers.Delivered) error {
				if first {
					started.Done()
					first = false
				}
				for _, e := range b {
					if s, ok := last[e.Event.Key]; ok && e.Event.Seq <= s && r.outOfKey == "" {
						r.outOfKey = e.Event.Key
					}
					last[e.Event.Key] = e.Event.Seq
				}
				if r.n += len(b); r.n >= len(evs) && !done {
					done = true // keep receiving a little: a duplicate would show as more
					time.AfterFunc(300*time.Millisecond, cancel)
				}
				return nil
			})
			results <- r
		}()
	}
	both := make(chan struct{})
	go func() { started.Wait(); close(both) }()
	select {
	case <-both:
	case <-time.After(5 * time.Second):
		t.Fatal("the two subscribers did not both receive a first lot within 5 s")
	}
	third, cancelThird := context.WithTimeout(context.Background(), time.Second)
	defer cancelThird()
	err := d.Subscribe(third, nil, func([]drivers.Delivered) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "subscribers=N") {
		t.Errorf("third Subscribe with 2 subscribers: %v; want an error naming subscribers=N", err)
	}
	for i := 0; i < 2; i++ {
		r := <-results
		if r.n != len(evs) {
			t.Errorf("subscriber %d got %d events, want %d", i, r.n, len(evs))
		}
		if r.outOfKey != "" {
			t.Errorf("subscriber %d got key %s out of order", i, r.outOfKey)
		}
	}
}

// TestFanoutNames: the topic and queues are the documented names, and a
// second Open (another connection) finds them rather than failing.
func TestFanoutNames(t *testing.T) {
	ep := startFake(t)
	d := openFresh(t, ep, "&sns=true&subscribers=2&topic=evbtest-events.fifo")
	if !strings.HasSuffix(d.topicArn, ":evbtest-events.fifo") {
		t.Errorf("topic ARN %s; want the topic= name", d.topicArn)
	}
	base := strings.TrimSuffix(d.cfg.Queue, ".fifo")
	if len(d.queues) != 2 || d.queues[0].name != base+"-p0.fifo" || d.queues[1].name != base+"-p1.fifo" {
		t.Errorf("queues %+v; want %s-p0.fifo and %s-p1.fifo", d.queues, base, base)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	again, err := Open(ctx, "sqs://us-east-1/"+d.cfg.Queue+"?emulator=true&wait=1&sns=true&subscribers=2&topic=evbtest-events.fifo&endpoint="+ep, drivers.Options{})
	if err != nil {
		t.Fatalf("second Open of the same fan-out: %v", err)
	}
	defer again.Close()
	if again.topicArn != d.topicArn || again.queues[1].url != d.queues[1].url || again.ledger != d.ledger {
		t.Errorf("second Open found %s %+v; want the first's topic, queues and ledger", again.topicArn, again.queues)
	}
	if !strings.Contains(d.Describe(), "SNS FIFO topic evbtest-events.fifo") {
		t.Errorf("Describe = %q; want the topic named", d.Describe())
	}
}

func TestCheckConsumersFanout(t *testing.T) {
	for _, tc := range []struct {
		dsn        string
		projectors int
		want       string // "" = allowed
	}{
		{"sqs://us-east-1/evbench.fifo?sns=true", 1, ""},
		{"sqs://us-east-1/evbench.fifo?sns=true", 2, "add subscribers=2 to the DSN"},
		{"sqs://us-east-1/evbench.fifo?sns=true&subscribers=3", 3, ""},
		{"sqs://us-east-1/evbench.fifo?sns=true&subscribers=3", 4, "the DSN subscribes 3 queue(s) to topic evbench.fifo; each projector needs its own: add subscribers=4"},
		{"sqs://us-east-1/evbench.fifo", 3, "add sns=true&subscribers=3 to the DSN"},
	} {
		err := CheckConsumers(tc.dsn, tc.projectors)
		if tc.want == "" && err != nil {
			t.Errorf("CheckConsumers(%q, %d) = %v; want allowed", tc.dsn, tc.projectors, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckConsumers(%q, %d) = %v; want %q", tc.dsn, tc.projectors, err, tc.want)
		}
	}
}

// TestFanoutKeepsForeignPolicy: a subscriber queue that already has a
// policy not naming the topic is refused with the statement to add; the
// driver never overwrites someone else's policy.
func TestFanoutKeepsForeignPolicy(t *testing.T) {
	ep := startFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	plain, err := Open(ctx, "sqs://us-east-1/evbtest-pol-p0.fifo?emulator=true&wait=1&endpoint="+ep, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	foreign := `{"Version":"2012-10-17","Statement":[{"Sid":"theirs","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}`
	if _, err := plain.client.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(plain.queues[0].url),
		Attributes: map[string]string{"Policy": foreign}}); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, "sqs://us-east-1/evbtest-pol.fifo?emulator=true&wait=1&sns=true&subscribers=1&endpoint="+ep, drivers.Options{})
	if err == nil || !strings.Contains(err.Error(), "has a policy that does not name topic") {
		t.Fatalf("Open over a queue with a foreign policy: %v; want a refusal naming the statement to add", err)
	}
	attrs, err := plain.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(plain.queues[0].url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNamePolicy}})
	if err != nil || attrs.Attributes["Policy"] != foreign {
		t.Errorf("the queue's policy is now %q (%v); want theirs untouched", attrs.Attributes["Policy"], err)
	}
}
