package refstore

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
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

// params are the DSN's query parameters, described in the unknown-name
// error.
var params = dsnparam.Spec{Driver: "refstore", Help: knownParams}

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
	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "conns":
			return p.Int(&cfg.conns, 1, 16, "an integer 1-16")
		case "dial_timeout":
			return p.Duration(&cfg.dialTimeout, "a positive duration like 2s")
		}
		return nil
	})
	return cfg, err
}
