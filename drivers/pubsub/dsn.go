package pubsub

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
)

const dsnExample = "pubsub://my-project/evbench?subscriptions=1"

// Config is a parsed pubsub:// DSN. Credentials are never in it: the
// Google client finds them in the environment (GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's application-default credentials, the metadata server).
type Config struct {
	// Project is the Google Cloud project ID (the DSN host).
	Project string
	// Topic is the topic ID (the DSN path). Created when missing.
	Topic string
	// SubscriptionPrefix names the subscriptions: <prefix>0, <prefix>1, ...
	// Default "<topic>-evbench-".
	SubscriptionPrefix string
	// Subscriptions is how many subscriptions (one per projector) Open
	// creates with message ordering enabled, before any event is
	// published: a Pub/Sub subscription only receives what is published
	// after it exists. Default 1.
	Subscriptions int
	// Endpoint overrides the service address (host:port), e.g. a regional
	// endpoint or an emulator. Empty: the client's default.
	Endpoint string
	// Emulator is true for an emulator or fake: plaintext gRPC, no
	// credentials, and the run is labelled emulated. Default false, or
	// true when PUBSUB_EMULATOR_HOST is set and no endpoint is given (the
	// client would talk to that emulator anyway).
	Emulator bool
	// AckDeadline is the subscriptions' ack deadline in seconds (10-600).
	// Default 10.
	AckDeadline int
	// PublishDelay is how long the publisher lingers to bundle messages
	// (PublishSettings.DelayThreshold); commit latency includes it. Default
	// 10ms, the client library's default.
	PublishDelay time.Duration
}

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "pubsub", Names: []string{"ack_deadline", "emulator", "endpoint", "publish_delay", "subscription_prefix", "subscriptions"}}

// resourceID is what Pub/Sub accepts as a topic or subscription ID.
var resourceID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$`)

// projectID is what Google Cloud accepts as a project ID (lower case,
// digits, hyphens; the emulator takes anything of that shape too).
var projectID = regexp.MustCompile(`^[a-z][a-z0-9\-]{2,62}$`)

// ParseDSN parses pubsub://PROJECT/TOPIC?param=... Unknown parameters are
// rejected with the list of known ones; nothing is contacted.
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Subscriptions: 1, AckDeadline: 10, PublishDelay: 10 * time.Millisecond}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("pubsub: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "pubsub" {
		return cfg, fmt.Errorf("pubsub: DSN %q: scheme %q; want pubsub://PROJECT/TOPIC (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.User != nil {
		return cfg, fmt.Errorf("pubsub: DSN %q: credentials do not go in the DSN; set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login", shown)
	}
	cfg.Project = u.Host
	if !projectID.MatchString(cfg.Project) {
		return cfg, fmt.Errorf("pubsub: DSN %q: project %q: want a project ID (6-30 lower-case letters, digits, hyphens) as the host, e.g. %s", shown, cfg.Project, dsnExample)
	}
	cfg.Topic = strings.TrimPrefix(u.Path, "/")
	if !resourceID.MatchString(cfg.Topic) {
		return cfg, fmt.Errorf("pubsub: DSN %q: topic %q: want a topic ID as the path (3-255 chars, starting with a letter), e.g. %s", shown, cfg.Topic, dsnExample)
	}
	cfg.SubscriptionPrefix = cfg.Topic + "-evbench-"
	emulatorSet := false
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "subscription_prefix":
			if !resourceID.MatchString(p.Value + "0") {
				return p.Bad("a subscription ID prefix (starting with a letter; letters, digits, - _ . ~ + %)")
			}
			cfg.SubscriptionPrefix = p.Value
		case "subscriptions":
			return p.Int(&cfg.Subscriptions, 1, 100, "a whole number from 1 to 100 (one per projector)")
		case "endpoint":
			if _, port, err := net.SplitHostPort(p.Value); err != nil || port == "" {
				return p.Bad("host:port, e.g. 127.0.0.1:8085 (emulator) or us-east1-pubsub.googleapis.com:443")
			}
			cfg.Endpoint = p.Value
		case "emulator":
			emulatorSet = true
			return p.Bool(&cfg.Emulator)
		case "publish_delay":
			return p.DurationIn(&cfg.PublishDelay, time.Nanosecond, time.Second, "a duration from 1us to 1s, e.g. 1ms")
		case "ack_deadline":
			return p.Int(&cfg.AckDeadline, 10, 600, "seconds from 10 to 600")
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	if env := os.Getenv("PUBSUB_EMULATOR_HOST"); env != "" && cfg.Endpoint == "" && !emulatorSet {
		cfg.Endpoint, cfg.Emulator = env, true
	}
	if cfg.Emulator && cfg.Endpoint == "" {
		return cfg, fmt.Errorf("pubsub: DSN %q: emulator=true needs endpoint=host:port (e.g. 127.0.0.1:8085 for gcloud beta emulators pubsub start)", shown)
	}
	return cfg, nil
}

// subscriptionID is the i-th subscription's ID.
func (c Config) subscriptionID(i int) string { return c.SubscriptionPrefix + strconv.Itoa(i) }
