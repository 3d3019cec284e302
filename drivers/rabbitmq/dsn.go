package rabbitmq

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
)

const dsnExample = "amqp://guest:guest@127.0.0.1:5672/?queue=evbench&type=quorum"

// Queue types the DSN's type= selects.
const (
	TypeQuorum  = "quorum"  // replicated Raft queue: confirm after a majority fsync'd
	TypeClassic = "classic" // single-node queue, durable messages
	TypeStream  = "stream"  // RabbitMQ Streams through the stream protocol (port 5552)
)

// Config is a parsed amqp:// DSN. "amqp://guest:guest@127.0.0.1:5672/"
// alone is a complete configuration.
type Config struct {
	// Addr is host:port of the AMQP 0-9-1 listener (default port 5672).
	Addr string
	// User and Password come from the userinfo (default guest/guest).
	User, Password string
	// VHost is the URL path, unescaped; "/" (default) when empty.
	VHost string
	// Queue names the queue (and its fanout exchange) or the stream.
	// Default "evbench".
	Queue string
	// Type is quorum (default), classic or stream.
	Type string
	// StreamPort is the stream protocol's port for type=stream. Default 5552.
	StreamPort int
	// Prefetch is how many unacknowledged deliveries a queue
	// subscription may hold (basic.qos). Default 1000. Streams use the
	// client's flow control (10 chunk credits).
	Prefetch int
	// Subscribers is how many queues (one per concurrent subscription,
	// each bound to the exchange, so each gets every event) queue types
	// declare. Default 1. Ignored for type=stream.
	Subscribers int
	// DeadLetter declares the queues with x-dead-letter-exchange
	// "<queue>.dlx" and a queue "<queue>.dlq" bound to it. Default true.
	DeadLetter bool
	// ConfirmTimeout fails an append whose publisher confirm has not come
	// after it. Default 10s.
	ConfirmTimeout time.Duration
	// Linger (type=stream) holds appends up to this long so that those
	// made meanwhile go out in one frame, which the broker stores as one
	// chunk; consumers read a chunk per credit, so one-message chunks
	// limit them. It adds up to Linger to commit latency. Default 5ms;
	// 0 sends every append at once.
	Linger time.Duration
	// MaxInFlight caps messages published and not yet confirmed; an
	// append waits for room (bounded by its ctx). Default 8192.
	MaxInFlight int
}

var knownParams = []string{"confirm_timeout", "dead_letter", "linger", "max_in_flight", "prefetch", "queue", "stream_port", "subscribers", "type"}

// amqpURL is the DSN amqp091 dials, rebuilt from the parsed fields so no
// evbench parameter reaches the library.
func (c Config) amqpURL() string {
	u := url.URL{Scheme: "amqp", User: url.UserPassword(c.User, c.Password), Host: c.Addr, Path: "/" + c.VHost}
	if c.VHost == "/" {
		u.Path = "/"
		u.RawPath = "/%2F"
	}
	return u.String()
}

// streamAddr is host:StreamPort.
func (c Config) streamAddr() string {
	host, _, _ := net.SplitHostPort(c.Addr)
	return net.JoinHostPort(host, strconv.Itoa(c.StreamPort))
}

// queueName is the queue of subscriber slot i: the DSN's queue for 0,
// "<queue>.<i>" for the others.
func (c Config) queueName(i int) string {
	if i == 0 {
		return c.Queue
	}
	return fmt.Sprintf("%s.%d", c.Queue, i)
}

// ParseDSN parses amqp://user:pass@host:5672/vhost?queue=...&type=...
// without connecting. Unknown parameters are rejected with the list of
// known ones; errors show the DSN redacted (drivers.RedactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{User: "guest", Password: "guest", VHost: "/", Queue: "evbench", Type: TypeQuorum, StreamPort: 5552,
		Prefetch: 1000, Subscribers: 1, DeadLetter: true, ConfirmTimeout: 10 * time.Second, MaxInFlight: 8192, Linger: 5 * time.Millisecond}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "amqp" {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: scheme %q; want amqp:// (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.Host == "" {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: no host; want e.g. %s", shown, dsnExample)
	}
	cfg.Addr = u.Host
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		cfg.Addr = net.JoinHostPort(u.Host, "5672")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			cfg.Password = p
		}
	}
	if v := strings.TrimPrefix(u.Path, "/"); v != "" {
		cfg.VHost = v
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q.Get(k)
		bad := func(want string) error {
			return fmt.Errorf("rabbitmq: DSN parameter %s=%q: want %s", k, v, want)
		}
		posInt := func(lo, hi int) (int, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, bad(fmt.Sprintf("a whole number from %d to %d", lo, hi))
			}
			return n, nil
		}
		switch k {
		case "queue":
			if v == "" || len(v) > 200 || strings.ContainsAny(v, " \t/\\") {
				return cfg, bad("a queue name of 1-200 characters without spaces or slashes")
			}
			cfg.Queue = v
		case "type":
			if v != TypeQuorum && v != TypeClassic && v != TypeStream {
				return cfg, bad("quorum, classic or stream")
			}
			cfg.Type = v
		case "stream_port":
			if cfg.StreamPort, err = posInt(1, 65535); err != nil {
				return cfg, err
			}
		case "prefetch":
			if cfg.Prefetch, err = posInt(1, 65535); err != nil {
				return cfg, err
			}
		case "subscribers":
			if cfg.Subscribers, err = posInt(1, 64); err != nil {
				return cfg, err
			}
		case "max_in_flight":
			if cfg.MaxInFlight, err = posInt(1, 1<<20); err != nil {
				return cfg, err
			}
		case "dead_letter":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, bad("true or false")
			}
			cfg.DeadLetter = b
		case "confirm_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, bad("a positive duration with a unit, e.g. 10s")
			}
			cfg.ConfirmTimeout = d
		case "linger":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Second {
				return cfg, bad("a duration from 0 to 1s with a unit, e.g. 5ms")
			}
			cfg.Linger = d
		default:
			return cfg, fmt.Errorf("rabbitmq: DSN parameter %q is unknown; known: %s", k, strings.Join(knownParams, ", "))
		}
	}
	return cfg, nil
}
