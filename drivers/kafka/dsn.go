package kafka

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
)

// Config is a parsed kafka:// DSN. Every field has a default so that
// "kafka://127.0.0.1:9092" alone is a complete, durable configuration.
type Config struct {
	// Brokers are the seed brokers (host:port), from the DSN host list.
	Brokers []string
	// Topic is where events go. Default "evbench".
	Topic string
	// Partitions is the partition count for a created topic and the minimum
	// accepted on an existing one. Default 12.
	Partitions int32
	// Acks is "all" (default, durable on every in-sync replica), "leader" or
	// "none".
	Acks string
	// Idempotent enables the idempotent producer (default: true when
	// acks=all; it requires acks=all).
	Idempotent bool
	// Consumer is "direct" (default: partitions assigned at the cursor) or
	// "group" (read through a consumer group, one fresh group per Subscribe,
	// starting at the cursor: measures the group protocol's cost).
	Consumer string
	// Group is the consumer group id prefix for consumer=group. Default
	// "evbench".
	Group string
	// Compression is none (default), snappy, lz4 or zstd.
	Compression string
	// Linger is how long the producer waits to fill a batch. Default 0:
	// the harness measures commit latency, and lingering would add to it.
	Linger time.Duration
	// DeliveryTimeout bounds how long one record may take to be acked,
	// retries included, before Append fails. Default 5s. This is what makes a
	// partitioned broker fail appends instead of hanging them.
	DeliveryTimeout time.Duration
	// Security is TLS and SASL (security.go). Default: plaintext, no
	// authentication.
	Security Security
}

// params are every parameter ParseDSN accepts, those of security.go
// included.
var params = dsnparam.Spec{Driver: "kafka",
	Names: append([]string{"acks", "compression", "consumer", "delivery_timeout", "group", "idempotent", "linger", "partitions", "topic"}, securityParams...)}

// ParseDSN parses kafka://host:9092[,host2:9092]?topic=...&partitions=...
// Unknown parameters are rejected with the list of known ones, so a typo
// never silently falls back to a default. user:password@ is SASL PLAIN
// unless sasl= names another mechanism; TLS and SASL are parsed, and their
// files loaded, by parseSecurity (security.go). Errors show the DSN
// redacted (drivers.RedactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Topic: "evbench", Partitions: 12, Acks: "all", Consumer: "direct", Group: "evbench", Compression: "none", DeliveryTimeout: 5 * time.Second}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("kafka: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme == "kfake" {
		return cfg, fmt.Errorf("kafka: DSN %q names the embedded kfake cluster: leave the DSN empty and the harness starts it (Embed), then opens its kafka:// DSN", shown)
	}
	if u.Scheme != "kafka" {
		return cfg, fmt.Errorf("kafka: DSN %q: scheme %q; want kafka://host:port (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("kafka: DSN %q: unexpected path %q; put the topic in ?topic=", shown, u.Path)
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return cfg, fmt.Errorf("kafka: DSN %q: broker %q needs host:port, e.g. 127.0.0.1:9092", shown, h)
		}
		cfg.Brokers = append(cfg.Brokers, h)
	}
	if len(cfg.Brokers) == 0 {
		return cfg, fmt.Errorf("kafka: DSN %q: no broker; want e.g. %s", shown, dsnExample)
	}
	q := u.Query()
	idemSet := false
	// The TLS and SASL parameters are known names without a case here:
	// Walk passes them by, and parseSecurity (below) reads them.
	err = params.Walk(q, func(p dsnparam.Param) error {
		switch p.Name {
		case "topic":
			if p.Value == "" || strings.ContainsAny(p.Value, "/\\ ") || len(p.Value) > 249 {
				return p.Bad("a topic name of [a-zA-Z0-9._-], at most 249 characters")
			}
			cfg.Topic = p.Value
		case "partitions":
			n := int(cfg.Partitions)
			if err := p.Int(&n, 1, math.MaxInt32, "a whole number >= 1"); err != nil {
				return err
			}
			cfg.Partitions = int32(n)
		case "acks":
			return p.OneOf(&cfg.Acks, "all", "leader", "none")
		case "idempotent":
			idemSet = true
			return p.Bool(&cfg.Idempotent)
		case "consumer":
			return p.OneOf(&cfg.Consumer, "direct", "group")
		case "group":
			if p.Value == "" {
				return p.Bad("a non-empty consumer group id")
			}
			cfg.Group = p.Value
		case "compression":
			return p.OneOf(&cfg.Compression, "none", "snappy", "lz4", "zstd")
		case "linger":
			return p.DurationIn(&cfg.Linger, 0, math.MaxInt64, "a duration with a unit, e.g. 0ms, 5ms or 5s")
		case "delivery_timeout":
			d := cfg.DeliveryTimeout
			if err := p.DurationIn(&d, 0, math.MaxInt64, "a duration with a unit, e.g. 0ms, 5ms or 5s"); err != nil {
				return err
			}
			if d < 100*time.Millisecond {
				return p.Bad("at least 100ms")
			}
			cfg.DeliveryTimeout = d
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	if cfg.Security, err = parseSecurity(u.User, q); err != nil {
		return cfg, err
	}
	if !idemSet {
		cfg.Idempotent = cfg.Acks == "all"
	}
	if cfg.Idempotent && cfg.Acks != "all" {
		return cfg, fmt.Errorf("kafka: DSN parameter idempotent=true needs acks=all (got acks=%s); set acks=all or idempotent=false", cfg.Acks)
	}
	return cfg, nil
}
