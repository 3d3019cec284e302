package sqs

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
)

const dsnExample = "sqs://us-east-1/evbench.fifo"

// Config is a parsed sqs:// DSN. Credentials are never in it: the AWS
// default chain finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE and ~/.aws, SSO, an instance or task role).
type Config struct {
	// Region is the AWS region (the DSN host), e.g. us-east-1.
	Region string
	// Queue is the FIFO queue name (the DSN path), ending in ".fifo".
	// Created when missing.
	Queue string
	// Endpoint overrides the service URL (an emulator, a VPC endpoint).
	Endpoint string
	// Emulator is true for an emulator or fake: static dummy credentials,
	// and the run is labelled emulated. Default false.
	Emulator bool
	// Visibility is the queue's visibility timeout in seconds: how long a
	// received, undeleted message stays hidden before redelivery. Default 30.
	Visibility int
	// Wait is the long-poll time of ReceiveMessage in seconds (0-20).
	// Default 20.
	Wait int
	// SNS turns on fan-out: appends publish to the SNS FIFO topic Topic,
	// and each projector reads its own queue subscribed to it (see
	// SubscriberQueues), so every projector gets every event. The queue
	// named by the path is then only the base of those names, not used.
	SNS bool
	// Topic is the SNS FIFO topic name (sns=true), default the DSN's queue
	// name. Created when missing.
	Topic string
	// Subscribers is how many queues sns=true subscribes to the topic, one
	// per projector. Default 1.
	Subscribers int
}

// SubscriberQueues names the queues of sns=true: <base>-p0.fifo ...
// <base>-p<N-1>.fifo, where the DSN's queue is <base>.fifo.
func (c Config) SubscriberQueues() []string {
	base := strings.TrimSuffix(c.Queue, ".fifo")
	names := make([]string, c.Subscribers)
	for i := range names {
		names[i] = fmt.Sprintf("%s-p%d.fifo", base, i)
	}
	return names
}

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "sqs", Names: []string{"emulator", "endpoint", "sns", "subscribers", "topic", "visibility_timeout", "wait"}}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	queueRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}\.fifo$`)
	topicRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,251}\.fifo$`)
)

// maxQueueName is SQS's limit on a queue name, .fifo included.
const maxQueueName = 80

// ParseDSN parses sqs://REGION/QUEUE.fifo?param=... without contacting AWS.
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Visibility: 30, Wait: 20, Subscribers: 1}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("sqs: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "sqs" {
		return cfg, fmt.Errorf("sqs: DSN %q: scheme %q; want sqs://REGION/QUEUE.fifo (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.User != nil {
		return cfg, fmt.Errorf("sqs: DSN %q: credentials do not go in the DSN; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the AWS default chain)", shown)
	}
	cfg.Region = u.Host
	if !regionRE.MatchString(cfg.Region) {
		return cfg, fmt.Errorf("sqs: DSN %q: region %q: want an AWS region as the host, e.g. %s", shown, cfg.Region, dsnExample)
	}
	cfg.Queue = strings.TrimPrefix(u.Path, "/")
	if !queueRE.MatchString(cfg.Queue) {
		return cfg, fmt.Errorf("sqs: DSN %q: queue %q: want a FIFO queue name ending in .fifo (letters, digits, - and _) as the path: only FIFO queues keep per-key order", shown, cfg.Queue)
	}
	var fanout []string // sns-only parameters given
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "endpoint":
			e, err := url.Parse(p.Value)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return p.Bad("a URL, e.g. http://127.0.0.1:4100")
			}
			cfg.Endpoint = p.Value
		case "emulator":
			return p.Bool(&cfg.Emulator)
		case "visibility_timeout":
			return p.Int(&cfg.Visibility, 1, 43200, "seconds from 1 to 43200")
		case "wait":
			return p.Int(&cfg.Wait, 0, 20, "long-poll seconds from 0 to 20")
		case "sns":
			return p.Bool(&cfg.SNS)
		case "topic":
			if !topicRE.MatchString(p.Value) {
				return p.Bad("an SNS FIFO topic name ending in .fifo (letters, digits, - and _), e.g. evbench.fifo")
			}
			cfg.Topic, fanout = p.Value, append(fanout, "topic")
		case "subscribers":
			fanout = append(fanout, "subscribers")
			return p.Int(&cfg.Subscribers, 1, 100, "subscriber queues (one per projector) from 1 to 100")
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	if len(fanout) > 0 && !cfg.SNS {
		return cfg, fmt.Errorf("sqs: DSN %q: %s= configures SNS fan-out and needs sns=true; add sns=true or drop it", shown, fanout[0])
	}
	if cfg.SNS {
		if cfg.Topic == "" {
			cfg.Topic = cfg.Queue
		}
		if qs := cfg.SubscriberQueues(); len(qs[len(qs)-1]) > maxQueueName {
			return cfg, fmt.Errorf("sqs: DSN %q: subscriber queue %q is longer than SQS's %d characters; shorten the queue name %q", shown, qs[len(qs)-1], maxQueueName, cfg.Queue)
		}
	}
	if cfg.Emulator && cfg.Endpoint == "" {
		return cfg, fmt.Errorf("sqs: DSN %q: emulator=true needs endpoint=URL (e.g. http://127.0.0.1:4100)", shown)
	}
	return cfg, nil
}

// CheckConsumers refuses, before load, more projectors than queues: one
// SQS queue hands each message to one consumer, so N projectors on one
// queue would split the events instead of each getting every event. With
// sns=true each projector needs its own subscribed queue.
func CheckConsumers(dsn string, projectors int) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	if !cfg.SNS && projectors > 1 {
		return fmt.Errorf("sqs: consumers.projectors is %d, but one SQS queue gives each message to one consumer, so the projectors would split the events; use --set consumers.projectors=1, or SNS fan-out (a queue per projector): add sns=true&subscribers=%d to the DSN", projectors, projectors)
	}
	if cfg.SNS && projectors > cfg.Subscribers {
		return fmt.Errorf("sqs: consumers.projectors is %d but the DSN subscribes %d queue(s) to topic %s; each projector needs its own: add subscribers=%d to the DSN", projectors, cfg.Subscribers, cfg.Topic, projectors)
	}
	return nil
}
