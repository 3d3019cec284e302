package redis

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
	"github.com/evbench/evbench/drivers/dsntls"
)

const dsnExample = "redis://127.0.0.1:6379/0?stream=evbench&shards=1"

// Config is a parsed redis:// (or rediss://, TLS) DSN. Defaults make
// "redis://127.0.0.1:6379" alone a complete configuration.
type Config struct {
	// Addr is host:port (port 6379 when the DSN gives none).
	Addr string
	// TLS is on for rediss:// or tls=true (or any TLS setting: ca=,
	// cert=/key=, server_name=, insecure_skip_verify=): every connection
	// the harness dialer opens is wrapped in TLS (dialer in redis.go),
	// verified against ca= or the system roots with server_name= or the
	// DSN host as the name. The shared parameters and errors are dsntls's.
	TLS dsntls.Config
	// User and Password come from the URL userinfo (Redis 6 ACL user, or
	// ":password" for requirepass). The password is redacted everywhere.
	User, Password string
	// DB is the database number from the path (/0, the default).
	DB int
	// Stream is the stream key, or with Shards > 1 the prefix of the
	// shard keys "<stream>:<i>". Default "evbench".
	Stream string
	// Shards is the number of streams (= partitions) keys are spread over
	// by a stable hash of the key (FNV-1a), 1 to 256. Default 1. Every
	// connection to one stream must use the same count (--reset when
	// changing it).
	Shards int
	// Conns is the number of append lanes: each is one goroutine sending
	// the appends queued on it as one MULTI/EXEC pipeline; a key always
	// uses the same lane. Default 2.
	Conns int
	// Timeout bounds every command's read and write (an append not
	// answered by then fails, ambiguous) and each dial. Default 5s.
	Timeout time.Duration
}

// params are the DSN's query parameters.
var params = dsnparam.Spec{Driver: "redis", Names: append([]string{"conns", "shards", "stream", "timeout"}, dsntls.Params...)}

// streamKey is the key of shard i.
func (c Config) streamKey(i int) string {
	if c.Shards == 1 {
		return c.Stream
	}
	return c.Stream + ":" + strconv.Itoa(i)
}

// ParseDSN parses redis://[user:pass@]host[:6379][/db]?stream=...&shards=N
// (rediss:// for TLS, with dsntls's parameters). Unknown parameters are
// rejected with the list of known ones; the TLS files are read here, so a
// missing one is an error before anything connects. Errors show the DSN
// redacted (drivers.RedactDSN).
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Stream: "evbench", Shards: 1, Conns: 2, Timeout: 5 * time.Second}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("redis: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	switch u.Scheme {
	case "redis", "rediss":
	default:
		return cfg, fmt.Errorf("redis: DSN %q: scheme %q; want redis://host:port (or rediss:// for TLS), e.g. %s", shown, u.Scheme, dsnExample)
	}
	if u.Host == "" {
		return cfg, fmt.Errorf("redis: DSN %q: no host; want e.g. %s", shown, dsnExample)
	}
	if strings.Contains(u.Host, ",") {
		return cfg, fmt.Errorf("redis: DSN %q: one server only (Redis Cluster and Sentinel are not supported)", shown)
	}
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "6379")
	} else if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return cfg, fmt.Errorf("redis: DSN %q: port %q; want 1-65535", shown, u.Port())
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("redis: DSN %q: path %q is not a database number; want /0 (put the stream in ?stream=)", shown, u.Path)
		}
		cfg.DB = n
	}
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "stream":
			if p.Value == "" || strings.IndexFunc(p.Value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				return p.Bad("a key name without spaces or control characters")
			}
			cfg.Stream = p.Value
		case "shards":
			return p.Int(&cfg.Shards, 1, 256, "a stream count from 1 to 256")
		case "conns":
			return p.Int(&cfg.Conns, 1, 64, "an append lane count from 1 to 64")
		case "timeout":
			return p.Duration(&cfg.Timeout, "a positive duration with a unit, e.g. 5s")
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	// After Walk, so an unknown or repeated parameter is reported first;
	// Walk leaves the TLS names to dsntls.
	cfg.TLS, err = dsntls.Parse("redis", u.Query(), u.Scheme == "rediss")
	return cfg, err
}
