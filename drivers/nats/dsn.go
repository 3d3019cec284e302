package nats

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
	"github.com/evbench/evbench/drivers/dsntls"
)

// Config is a parsed nats:// DSN. Defaults make "nats://127.0.0.1:4222"
// alone a complete configuration.
type Config struct {
	// Servers are host:port pairs from the DSN host list.
	Servers []string
	// User and Password come from the URL userinfo (password redacted in logs).
	User, Password string
	// Token is the userinfo of nats://TOKEN@host (no ':'), which NATS reads
	// as an auth token, not a user name (redacted in logs).
	Token string
	// CredsFile is creds=: a user JWT and its NKey seed (nsc, Synadia
	// Cloud). NKeyFile is nkey=: an NKey seed file. Both are checked when
	// the DSN is parsed.
	CredsFile, NKeyFile string
	// TLS is the DSN's TLS settings (dsntls): on with tls://, tls=true or
	// any of ca=, cert=, key=, server_name=, insecure_skip_verify=.
	TLS dsntls.Config
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

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "nats", Names: append([]string{"ack_timeout", "consumer", "creds", "dupe_window", "durable", "max_pending", "nkey", "replicas", "storage", "stream", "subjects"}, dsntls.Params...)}

// durationWant is what dupe_window= and ack_timeout= want.
const durationWant = "a positive duration with a unit, e.g. 2m or 10s"

// prefix is Subjects without the trailing ">": "evbench.".
func (c Config) prefix() string { return strings.TrimSuffix(c.Subjects, ">") }

// ParseDSN parses nats://[user:pass@]host:4222[,host2:4222]?stream=...
// (tls://... for TLS). Unknown parameters are rejected with the list of
// known ones. Errors show the DSN redacted (see redactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Stream: "EVBENCH", Subjects: "evbench.>", Storage: "file", Replicas: 1, Consumer: "ordered",
		Durable: "evbench", DupeWindow: 2 * time.Minute, MaxPending: 4096, AckTimeout: 10 * time.Second}
	shown := redactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("nats: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return cfg, fmt.Errorf("nats: DSN %q: scheme %q; want nats://host:port (e.g. %s), or tls://host:port for TLS", shown, u.Scheme, dsnExample)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("nats: DSN %q: unexpected path %q; put the stream in ?stream=", shown, u.Path)
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			cfg.User, cfg.Password = u.User.Username(), pw
		} else {
			cfg.Token = u.User.Username()
		}
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
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "stream":
			if p.Value == "" || strings.ContainsAny(p.Value, ".*>/\\ \t") {
				return p.Bad("a stream name without spaces, '.', '*', '>' or path separators")
			}
			cfg.Stream = p.Value
		case "subjects":
			v := p.Value
			pre := strings.TrimSuffix(v, ">")
			if !strings.HasSuffix(v, ".>") || len(pre) < 2 || strings.ContainsAny(pre, "*> \t") || strings.Contains(pre, "..") || strings.HasPrefix(pre, ".") {
				return p.Bad("a prefix wildcard like evbench.> or bench.run1.>")
			}
			cfg.Subjects = v
		case "storage":
			return p.OneOf(&cfg.Storage, "file", "memory")
		case "replicas":
			return p.Int(&cfg.Replicas, 1, 5, "a replica count from 1 to 5")
		case "consumer":
			return p.OneOf(&cfg.Consumer, "ordered", "durable")
		case "durable":
			if p.Value == "" || strings.ContainsAny(p.Value, ".*>/\\ \t") {
				return p.Bad("a consumer name without spaces, '.', '*', '>' or path separators")
			}
			cfg.Durable = p.Value
		case "dupe_window":
			return p.Duration(&cfg.DupeWindow, durationWant)
		case "ack_timeout":
			return p.Duration(&cfg.AckTimeout, durationWant)
		case "max_pending":
			return p.Int(&cfg.MaxPending, 1, math.MaxInt, "a whole number >= 1")
		case "creds":
			cfg.CredsFile = p.Value
			return checkCreds(p.Value)
		case "nkey":
			cfg.NKeyFile = p.Value
			return checkNKey(p.Value)
		}
		return nil // the TLS parameters: dsntls.Parse below
	})
	if err != nil {
		return cfg, err
	}
	if err := checkAuth(cfg); err != nil {
		return cfg, err
	}
	cfg.TLS, err = dsntls.Parse("nats", u.Query(), u.Scheme == "tls")
	return cfg, err
}
