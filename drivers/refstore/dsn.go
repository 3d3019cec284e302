package refstore

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

// config is a parsed DSN: refstore://host:port[?conns=N&dial_timeout=D].
type config struct {
	addr        string
	conns       int           // append connections, default 1
	dialTimeout time.Duration // dial + handshake, default 5s
}

var knownParams = map[string]string{
	"conns":        "append connections, 1-16 (default 1)",
	"dial_timeout": "dial and handshake timeout, e.g. 2s (default 5s)",
}

func knownList() string {
	names := make([]string, 0, len(knownParams))
	for k, v := range knownParams {
		names = append(names, k+" ("+v+")")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// parseDSN validates dsn; errors show it redacted (drivers.RedactDSN).
func parseDSN(dsn string) (config, error) {
	cfg := config{conns: 1, dialTimeout: 5 * time.Second}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "refstore" || u.Host == "" {
		return cfg, fmt.Errorf("refstore: DSN %q: want refstore://host:port, e.g. refstore://127.0.0.1:7600", drivers.RedactDSN(dsn))
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return cfg, fmt.Errorf("refstore: DSN %q: host %q needs a port, e.g. refstore://127.0.0.1:7600", drivers.RedactDSN(dsn), u.Host)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("refstore: DSN %q: unexpected path %q (refstore has one log; remove it)", drivers.RedactDSN(dsn), u.Path)
	}
	cfg.addr = u.Host
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "conns":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 16 {
				return cfg, fmt.Errorf("refstore: DSN parameter conns=%q: want an integer 1-16", v)
			}
			cfg.conns = n
		case "dial_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("refstore: DSN parameter dial_timeout=%q: want a positive duration like 2s", v)
			}
			cfg.dialTimeout = d
		default:
			return cfg, fmt.Errorf("refstore: DSN parameter %q is unknown; known: %s", k, knownList())
		}
	}
	return cfg, nil
}
