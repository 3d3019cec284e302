package mqtt

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsnparam"
	"github.com/evbench/evbench/drivers/dsntls"
)

// Config is a parsed mqtt:// or mqtts:// DSN. Defaults make
// "mqtt://127.0.0.1:1883" alone a complete configuration.
type Config struct {
	// Addr is the broker's host:port (port default 1883, or 8883 with TLS).
	Addr string
	// User and Password come from the URL userinfo (password redacted in
	// every message).
	User, Password string
	// Topic is the prefix: each event is published to "<Topic>/<key>" and
	// subscriptions take "<Topic>/#". Default "evbench". Give each run its
	// own prefix: positions and the head are counted per process and prefix.
	Topic string
	// QoS is 1 (default: PUBACK is the commit) or 2 (PUBCOMP is). QoS 0
	// has no acknowledgement, so nothing could count as committed.
	QoS byte
	// Shared, when set, makes every Subscribe a member of the shared
	// subscription "$share/<Shared>/<Topic>/#": the broker splits the
	// messages among the group's members instead of giving each all of them.
	Shared string
	// Lanes is how many publish lanes split the keys (by hash): one lane
	// has one publish in flight at a time, which is what keeps per-key and
	// per-lane order on every broker. Default 64.
	Lanes int
	// Conns is how many publishing connections the lanes are spread over
	// (lane l on connection l mod Conns). A broker caps the publishes in
	// flight per connection (its receive maximum: Mosquitto's default is
	// 20), so more lanes than that need more connections. Default 4.
	Conns int
	// AckTimeout fails a publish whose PUBACK has not arrived after it.
	// Default 10s.
	AckTimeout time.Duration
	// BrokerConfig is the broker's configuration file, read for the
	// durability label. Default: the config of a local Mosquitto process
	// (found under /proc) when the broker is on a loopback address.
	BrokerConfig string
	// TLS is the DSN's TLS settings (drivers/dsntls): on with mqtts:// (or
	// its synonym ssl://), tls=true, or any of ca=, cert=/key=,
	// server_name=, insecure_skip_verify=. Managed brokers (HiveMQ Cloud,
	// EMQX Cloud, AWS IoT Core) accept nothing else.
	TLS dsntls.Config
	// ClientID prefixes every connection's client ID: "<ClientID>-<role>-
	// <12 hex>", unique per connection so two never take over each other's
	// session. Default "evbench". Brokers whose policies allow only some
	// client IDs (AWS IoT Core: iot:Connect on client/<prefix>*) need it.
	ClientID string
}

// clientIDRe is what client_id= accepts: characters every broker takes
// in a client ID, short enough that the full ID stays under 128 bytes
// (AWS IoT Core's limit).
var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const (
	defaultPort  = "1883"
	tlsPort      = "8883" // MQTT over TLS (IANA "secure-mqtt")
	maxLanes     = 1024
	dsnExample   = "mqtt://127.0.0.1:1883/?topic=evbench"
	defaultTopic = "evbench"
)

// params are the DSN's query parameters.
// The TLS ones (dsntls.Params) are known names without a case in the
// switch: dsntls.Parse reads them after the walk.
var params = dsnparam.Spec{Driver: "mqtt", Names: append([]string{"ack_timeout", "broker_config", "client_id", "conns", "lanes", "qos", "shared", "topic"}, dsntls.Params...)}

// ParseDSN parses mqtt://[user:pass@]host[:1883][/]?topic=...&qos=1&shared=...
// and its TLS form mqtts://[user:pass@]host[:8883][/]?ca=...&cert=...&key=...
// Unknown parameters are rejected with the list of known ones. Errors show
// the DSN redacted (drivers.RedactDSN). The TLS files are read here, so a
// missing one is an error before anything connects.
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{Topic: defaultTopic, QoS: 1, Lanes: 64, Conns: 4, AckTimeout: 10 * time.Second, ClientID: "evbench"}
	shown := drivers.RedactDSN(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return cfg, fmt.Errorf("mqtt: DSN %q: %v; want e.g. %s", shown, drivers.ParseReason(err), dsnExample)
	}
	// tcp:// and ssl:// are the paho clients' names for the same two
	// transports, so DSNs copied from their configurations work.
	tlsScheme := false
	switch u.Scheme {
	case "mqtt", "tcp":
	case "mqtts", "ssl":
		tlsScheme = true
	case "tls":
		return cfg, fmt.Errorf("mqtt: DSN %q: scheme \"tls\": write MQTT over TLS as mqtts://host:8883", shown)
	case "ws", "wss":
		return cfg, fmt.Errorf("mqtt: DSN %q: scheme %q is not supported (websockets are not implemented); use mqtt://host:1883 or mqtts://host:8883", shown, u.Scheme)
	default:
		return cfg, fmt.Errorf("mqtt: DSN %q: scheme %q; want mqtt://host:port or mqtts://host:port (e.g. %s)", shown, u.Scheme, dsnExample)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("mqtt: DSN %q: unexpected path %q; put the topic prefix in ?topic=", shown, u.Path)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return cfg, fmt.Errorf("mqtt: DSN %q: no broker host; want e.g. %s", shown, dsnExample)
	}
	if strings.Contains(u.Host, ",") {
		return cfg, fmt.Errorf("mqtt: DSN %q: one broker only (an MQTT client connects to one server)", shown)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("mqtt: DSN %q: port %q; want 1-65535", shown, port)
		}
	}

	err = params.Walk(u.Query(), func(p dsnparam.Param) error {
		switch p.Name {
		case "client_id":
			if !clientIDRe.MatchString(p.Value) {
				return p.Bad("a client ID prefix of 1-64 letters, digits, '-' or '_' (evbench adds -<role>-<12 hex>)")
			}
			cfg.ClientID = p.Value
		case "topic":
			if err := checkTopicPrefix(p.Value); err != nil {
				return p.Bad(err.Error())
			}
			cfg.Topic = p.Value
		case "qos":
			switch p.Value {
			case "1":
				cfg.QoS = 1
			case "2":
				cfg.QoS = 2
			case "0":
				return p.Bad("1 or 2: QoS 0 is never acknowledged, so no append could be counted as committed")
			default:
				return p.Bad("1 (PUBACK is the commit) or 2 (PUBCOMP is)")
			}
		case "shared":
			if p.Value == "" || strings.ContainsAny(p.Value, "/+# \t") {
				return p.Bad("a share group name without '/', '+', '#' or spaces")
			}
			cfg.Shared = p.Value
		case "lanes":
			return p.Int(&cfg.Lanes, 1, maxLanes, fmt.Sprintf("a lane count from 1 to %d", maxLanes))
		case "conns":
			return p.Int(&cfg.Conns, 1, 64, "a connection count from 1 to 64")
		case "ack_timeout":
			return p.Duration(&cfg.AckTimeout, "a positive duration with a unit, e.g. 10s")
		case "broker_config":
			if p.Value == "" {
				return p.Bad("the path of the broker's configuration file, e.g. /etc/mosquitto/mosquitto.conf")
			}
			cfg.BrokerConfig = p.Value
		}
		return nil
	})
	if err != nil {
		return cfg, err
	}
	if cfg.TLS, err = dsntls.Parse("mqtt", u.Query(), tlsScheme); err != nil {
		return cfg, err
	}
	if port == "" {
		port = defaultPort
		if cfg.TLS.Enabled {
			port = tlsPort
		}
	}
	cfg.Addr = net.JoinHostPort(host, port)
	return cfg, nil
}

// checkTopicPrefix accepts a topic name usable as "<prefix>/<key>" and
// "<prefix>/#": no wildcards, no leading '$' (reserved for the broker),
// no empty level.
func checkTopicPrefix(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("a topic prefix such as evbench or bench/run1")
	case strings.ContainsAny(p, "+#\x00"):
		return fmt.Errorf("a topic prefix without the wildcards '+' and '#'")
	case strings.HasPrefix(p, "$"):
		return fmt.Errorf("a topic prefix not starting with '$' (reserved for broker topics such as $SYS and $share)")
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		return fmt.Errorf("a topic prefix without empty levels (no leading, trailing or double '/')")
	}
	return nil
}

// filter is the topic filter a Subscribe takes: every key under the
// prefix, through the share group when one is configured.
func (c Config) filter() string {
	f := c.Topic + "/#"
	if c.Shared != "" {
		f = "$share/" + c.Shared + "/" + f
	}
	return f
}
