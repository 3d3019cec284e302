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
}

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "sqs", Names: []string{"emulator", "endpoint", "sns", "visibility_timeout", "wait"}}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	queueRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}\.fifo$`)
)

// ParseDSN parses sqs://REGION/QUEUE.fifo?param=... without contacting AWS.
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Visibility: 30, Wait: 20}
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
			var sns bool
			if err := p.Bool(&sns); err != nil {
				return err
			}
			if sns {
				return fmt.Errorf("sqs: DSN parameter sns=true: SNS fan-out (one FIFO queue per projector) is not built yet; run with one projector and no sns parameter")
			}
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	if cfg.Emulator && cfg.Endpoint == "" {
		return cfg, fmt.Errorf("sqs: DSN %q: emulator=true needs endpoint=URL (e.g. http://127.0.0.1:4100)", shown)
	}
	return cfg, nil
}

// CheckConsumers refuses more than one projector before load: one SQS
// queue hands each message to one consumer, so N projectors would split
// the events between them instead of each getting every event.
func CheckConsumers(dsn string, projectors int) error {
	if _, err := ParseDSN(dsn); err != nil {
		return err
	}
	if projectors > 1 {
		return fmt.Errorf("sqs: consumers.projectors is %d, but one SQS queue gives each message to one consumer, so the projectors would split the events; SNS fan-out (a queue per projector) is not built yet: use --set consumers.projectors=1", projectors)
	}
	return nil
}
