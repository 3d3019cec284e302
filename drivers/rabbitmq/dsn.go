package rabbitmq

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
	"github.com/evbench/evbench/drivers/dsntls"
)

const dsnExample = "amqp://guest:guest@127.0.0.1:5672/?queue=evbench&type=quorum"

// Queue types the DSN's type= selects.
const (
	TypeQuorum  = "quorum"  // replicated Raft queue: confirm after a majority fsync'd
	TypeClassic = "classic" // single-node queue, durable messages
	TypeStream  = "stream"  // RabbitMQ Streams through the stream protocol (port 5552)
)

// Config is a parsed amqp:// or amqps:// DSN.
// "amqp://guest:guest@127.0.0.1:5672/" alone is a complete configuration.
type Config struct {
	// Addr is host:port of the AMQP 0-9-1 listener (default port 5672,
	// 5671 for amqps://).
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
	// StreamPort is the stream protocol's port for type=stream. Default
	// 5552, or 5551 (RabbitMQ's stream TLS listener) when TLS is on.
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
	// TLS is the DSN's TLS settings (amqps://, tls=, ca=, cert=/key=,
	// server_name=, insecure_skip_verify=; see dsntls), for the AMQP and
	// the stream connections alike.
	TLS dsntls.Config
}

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "rabbitmq", Names: append([]string{"confirm_timeout", "dead_letter", "linger", "max_in_flight", "prefetch", "queue", "stream_port", "subscribers", "type"}, dsntls.Params...)}

// amqpURL is the DSN amqp091 dials, rebuilt from the parsed fields so no
// evbench parameter reaches the library. Its scheme is amqp even for an
// amqps:// DSN: the driver's Dial func returns a connection that already
// completed TLS (over opts.Dialer(), so chaos proxies stay in the path),
// and amqp091 would run a second handshake on top of it for amqps.
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

// tlsSuffix is what Describe appends: nothing for plaintext (the result
// line of a plaintext run is unchanged), else ", " and the TLS mode
// (loud for insecure_skip_verify=true).
func (c Config) tlsSuffix() string {
	if !c.TLS.Enabled {
		return ""
	}
	return ", " + c.TLS.Describe()
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
// (amqps:// for TLS, default port 5671) without connecting. Unknown
// parameters are rejected with the list of known ones; errors show the
// DSN redacted (drivers.RedactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{User: "guest", Password: "guest", VHost: "/", Queue: "evbench", Type: TypeQuorum, StreamPort: 5552,
		Prefetch: 1000, Subscribers: 1, DeadLetter: true, ConfirmTimeout: 10 * time.Second, MaxInFlight: 8192, Linger: 5 * time.Millisecond}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: scheme %q; want amqp:// or amqps:// for TLS (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.Host == "" {
		return cfg, fmt.Errorf("rabbitmq: DSN %q: no host; want e.g. %s", shown, dsnExample)
	}
	cfg.Addr = u.Host
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		cfg.Addr = net.JoinHostPort(u.Host, defaultPort(u.Scheme))
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
	streamPortSet := false
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "queue":
			if p.Value == "" || len(p.Value) > 200 || strings.ContainsAny(p.Value, " \t/\\") {
				return p.Bad("a queue name of 1-200 characters without spaces or slashes")
			}
			cfg.Queue = p.Value
		case "type":
			return p.OneOf(&cfg.Type, TypeQuorum, TypeClassic, TypeStream)
		case "stream_port":
			streamPortSet = true
			return p.Int(&cfg.StreamPort, 1, 65535, "a whole number from 1 to 65535")
		case "prefetch":
			return p.Int(&cfg.Prefetch, 1, 65535, "a whole number from 1 to 65535")
		case "subscribers":
			return p.Int(&cfg.Subscribers, 1, 64, "a whole number from 1 to 64")
		case "max_in_flight":
			return p.Int(&cfg.MaxInFlight, 1, 1<<20, "a whole number from 1 to 1048576")
		case "dead_letter":
			return p.Bool(&cfg.DeadLetter)
		case "confirm_timeout":
			return p.Duration(&cfg.ConfirmTimeout, "a positive duration with a unit, e.g. 10s")
		case "linger":
			return p.DurationIn(&cfg.Linger, 0, time.Second, "a duration from 0 to 1s with a unit, e.g. 5ms")
		}
		return nil // the TLS parameters: dsntls.Parse below
	})
	if err != nil {
		return cfg, err
	}
	if cfg.TLS, err = dsntls.Parse("rabbitmq", u.Query(), u.Scheme == "amqps"); err != nil {
		return cfg, err
	}
	if cfg.TLS.Enabled && !streamPortSet {
		cfg.StreamPort = 5551
	}
	return cfg, nil
}

// defaultPort is the AMQP port of scheme: 5671 for amqps, else 5672
// (amqp://h?tls=true keeps 5672: the DSN's scheme names the port).
func defaultPort(scheme string) string {
	if scheme == "amqps" {
		return "5671"
	}
	return "5672"
}
