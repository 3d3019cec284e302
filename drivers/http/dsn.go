package httpdriver

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
)

// config is a parsed DSN:
//
//	http[s]://[user:pass@]host:port/streams/{key}?events=/events&head=/head&info=/info&mode=sse|poll&...
//
// The URL's path (with {key}) is the command URL; the other endpoints are
// paths on the same origin. user:pass becomes HTTP basic auth.
type config struct {
	origin      string // scheme://host:port
	streamPath  string // path template with {key}
	eventsPath  string
	headPath    string
	infoPath    string // "" when info=none
	batchPath   string // "" unless batch= or /info names one
	batchSet    bool   // batch= given (overrides /info, "none" too)
	mode        string // sse or poll
	proto       string // http1 or h2
	maxInflight int
	coalesce    int // events per batch request a lane may merge queued commands into; 1: off
	timeout     time.Duration
	pollEvery   time.Duration
	pollLimit   int
	user, pass  string
	hasAuth     bool
}

// Defaults, documented in docs/drivers.md.
const (
	defaultEvents      = "/events"
	defaultHead        = "/head"
	defaultInfo        = "/info"
	defaultMaxInflight = 32
	defaultTimeout     = 10 * time.Second
	defaultPollEvery   = 20 * time.Millisecond
	defaultPollLimit   = 1000
	// defaultCoalesce bounds the events a lane that fell behind merges into
	// one batch request when the front offers a batch path (as franz-go
	// batches records across Produce calls); idle lanes send one command
	// per request either way.
	defaultCoalesce = 64
)

var knownParams = map[string]string{
	"events":        "query path for SSE and polling (default /events)",
	"head":          "head path (default /head)",
	"info":          "capabilities path, or none (default /info)",
	"batch":         "batch command path, or none (default: what /info says, else none)",
	"mode":          "sse or poll (default sse)",
	"proto":         "http1 or h2 (HTTP/2: prior-knowledge h2c on http://, ALPN on https://; default http1)",
	"max_inflight":  "concurrent command requests, 1-1024 (default 32)",
	"coalesce":      "with a batch path: merge up to N queued commands of a lane into one batch request, 1-10000 (default 64; 1: always one command per request)",
	"timeout":       "per-request timeout for commands, head, info and polls (default 10s)",
	"poll_interval": "poll mode: wait after an empty poll (default 20ms)",
	"poll_limit":    "poll mode: events per GET, 1-100000 (default 1000)",
}

// params are the DSN's query parameters, described in the unknown-name
// error.
var params = dsnparam.Spec{Driver: "http", Help: knownParams}

// parseDSN validates dsn without connecting; errors show it redacted.
func parseDSN(dsn string) (config, error) {
	cfg := config{eventsPath: defaultEvents, headPath: defaultHead, infoPath: defaultInfo, mode: "sse", proto: "http1", coalesce: defaultCoalesce,
		maxInflight: defaultMaxInflight, timeout: defaultTimeout, pollEvery: defaultPollEvery, pollLimit: defaultPollLimit}
	red := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("http: DSN %q: want http[s]://host:port/streams/{key}, e.g. http://127.0.0.1:8080/streams/{key}", red)
	}
	if u.Port() == "" {
		return cfg, fmt.Errorf("http: DSN %q: host %q needs a port, e.g. http://127.0.0.1:8080/streams/{key}", red, u.Host)
	}
	if u.Fragment != "" {
		return cfg, fmt.Errorf("http: DSN %q: remove the #fragment (a '#' in a password must be written %%23)", red)
	}
	path := u.Path // url.Parse unescapes %7B to {
	if strings.Count(path, "{key}") != 1 {
		return cfg, fmt.Errorf("http: DSN %q: the path must hold {key} exactly once (the command URL template), e.g. /streams/{key}", red)
	}
	cfg.origin = u.Scheme + "://" + u.Host
	cfg.streamPath = path
	if u.User != nil {
		cfg.user = u.User.Username()
		cfg.pass, _ = u.User.Password()
		cfg.hasAuth = true
	}
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "events":
			return endpointPath(p, &cfg.eventsPath)
		case "head":
			return endpointPath(p, &cfg.headPath)
		case "info":
			return endpointPathOrNone(p, &cfg.infoPath)
		case "batch":
			if err := endpointPathOrNone(p, &cfg.batchPath); err != nil {
				return err
			}
			cfg.batchSet = true
		case "mode":
			return p.OneOf(&cfg.mode, "sse", "poll")
		case "proto":
			return p.OneOf(&cfg.proto, "http1", "h2")
		case "max_inflight":
			return p.Int(&cfg.maxInflight, 1, 1024, "an integer 1-1024")
		case "poll_limit":
			return p.Int(&cfg.pollLimit, 1, 100000, "an integer 1-100000")
		case "coalesce":
			return p.Int(&cfg.coalesce, 1, 10000, "an integer 1-10000")
		case "timeout":
			return p.Duration(&cfg.timeout, "a positive duration like 2s")
		case "poll_interval":
			return p.Duration(&cfg.pollEvery, "a positive duration like 2s")
		}
		return nil
	})
	return cfg, err
}

// endpointPath stores a parameter that must be a path on the DSN's origin.
func endpointPath(p dsnparam.Param, dst *string) error {
	if !strings.HasPrefix(p.Value, "/") {
		return p.Bad("a path starting with /")
	}
	*dst = p.Value
	return nil
}

// endpointPathOrNone is endpointPath, or "" for none (the endpoint is not used).
func endpointPathOrNone(p dsnparam.Param, dst *string) error {
	switch {
	case p.Value == "none":
		*dst = ""
	case strings.HasPrefix(p.Value, "/"):
		*dst = p.Value
	default:
		return p.Bad("a path starting with /, or none")
	}
	return nil
}

// streamURL is the command URL of key (path-escaped, so a key with '/' or
// '?' stays one segment).
func (c *config) streamURL(key string) string {
	return c.origin + strings.Replace(c.streamPath, "{key}", url.PathEscape(key), 1)
}
