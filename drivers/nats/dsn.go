package nats

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

// Config is a parsed nats:// DSN. Defaults make "nats://127.0.0.1:4222"
// alone a complete configuration.
type Config struct {
	// Servers are host:port pairs from the DSN host list.
	Servers []string
	// User and Password come from the URL userinfo (password redacted in logs).
	User, Password string
	// Stream is the JetStream stream name. Default "EVBENCH".
	Stream string
	// Subjects is the stream's subject filter, "<prefix>.>". Default
	// "evbench.>". Each event goes to "<prefix>.<key>". Give each stream its
	// own prefix: two streams may not share subjects.
	Subjects string
	// Storage is "file" (default) or "memory".
	Storage string
	// Replicas is the stream replica count. Default 1.
	Replicas int
	// Consumer is "ordered" (default, an ephemeral ordered consumer started
	// at the cursor) or "durable" (a durable pull consumer with explicit
	// ack-all, one per Subscribe, started at the cursor).
	Consumer string
	// Durable is the durable consumer name prefix for consumer=durable.
	Durable string
	// DupeWindow is the stream's duplicate window: an append retried with
	// the same event IDs within it is not stored twice. Default 2m.
	DupeWindow time.Duration
	// MaxPending caps async publishes awaiting a PubAck and messages
	// buffered per subscription. Default 4096.
	MaxPending int
	// AckTimeout fails a publish whose PubAck has not arrived after it
	// (retries of a stalled publish included). Default 10s.
	AckTimeout time.Duration
}

var knownParams = []string{"ack_timeout", "consumer", "dupe_window", "durable", "max_pending", "replicas", "storage", "stream", "subjects"}

// prefix is Subjects without the trailing ">": "evbench.".
func (c Config) prefix() string { return strings.TrimSuffix(c.Subjects, ">") }

// ParseDSN parses nats://[user:pass@]host:4222[,host2:4222]?stream=...
// Unknown parameters are rejected with the list of known ones. Errors show
// the DSN redacted (drivers.RedactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Stream: "EVBENCH", Subjects: "evbench.>", Storage: "file", Replicas: 1, Consumer: "ordered",
		Durable: "evbench", DupeWindow: 2 * time.Minute, MaxPending: 4096, AckTimeout: 10 * time.Second}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("nats: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "nats" {
		return cfg, fmt.Errorf("nats: DSN %q: scheme %q; want nats://host:port (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("nats: DSN %q: unexpected path %q; put the stream in ?stream=", shown, u.Path)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return cfg, fmt.Errorf("nats: DSN %q: server %q needs host:port, e.g. 127.0.0.1:4222", shown, h)
		}
		cfg.Servers = append(cfg.Servers, h)
	}
	if len(cfg.Servers) == 0 {
		return cfg, fmt.Errorf("nats: DSN %q: no server; want e.g. %s", shown, dsnExample)
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
			return fmt.Errorf("nats: DSN parameter %s=%q: want %s", k, v, want)
		}
		switch k {
		case "stream":
			if v == "" || strings.ContainsAny(v, ".*>/\\ \t") {
				return cfg, bad("a stream name without spaces, '.', '*', '>' or path separators")
			}
			cfg.Stream = v
		case "subjects":
			p := strings.TrimSuffix(v, ">")
			if !strings.HasSuffix(v, ".>") || len(p) < 2 || strings.ContainsAny(p, "*> \t") || strings.Contains(p, "..") || strings.HasPrefix(p, ".") {
				return cfg, bad("a prefix wildcard like evbench.> or bench.run1.>")
			}
			cfg.Subjects = v
		case "storage":
			if v != "file" && v != "memory" {
				return cfg, bad("file or memory")
			}
			cfg.Storage = v
		case "replicas":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5 {
				return cfg, bad("a replica count from 1 to 5")
			}
			cfg.Replicas = n
		case "consumer":
			if v != "ordered" && v != "durable" {
				return cfg, bad("ordered or durable")
			}
			cfg.Consumer = v
		case "durable":
			if v == "" || strings.ContainsAny(v, ".*>/\\ \t") {
				return cfg, bad("a consumer name without spaces, '.', '*', '>' or path separators")
			}
			cfg.Durable = v
		case "dupe_window", "ack_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, bad("a positive duration with a unit, e.g. 2m or 10s")
			}
			if k == "dupe_window" {
				cfg.DupeWindow = d
			} else {
				cfg.AckTimeout = d
			}
		case "max_pending":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return cfg, bad("a whole number >= 1")
			}
			cfg.MaxPending = n
		default:
			return cfg, fmt.Errorf("nats: DSN parameter %q is unknown; known: %s", k, strings.Join(knownParams, ", "))
		}
	}
	return cfg, nil
}
