package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/evbench/evbench/drivers"
)

// connectTimeout bounds a dial plus CONNECT/CONNACK against an unreachable
// or silent broker.
const connectTimeout = 5 * time.Second

// keepAlive is the MQTT keep-alive in seconds: a dead connection is found
// within about 1.5 times it.
const keepAlive = 5

// connOptions is what one connection needs besides the Config.
type connOptions struct {
	dial     drivers.DialFunc
	role     string
	onPub    func(paho.PublishReceived) (bool, error)
	onError  func(error)
	onServer func(*paho.Disconnect)
}

// connect dials the broker through o.dial (the chaos proxies' hook: paho
// takes the net.Conn evbench opened, so no connection bypasses it) and
// completes the MQTT 5 handshake with a fresh client id and a clean
// session that ends with the connection: nothing is queued for a client
// that is gone.
func connect(ctx context.Context, cfg Config, o connOptions) (*paho.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := dialBroker(ctx, cfg, o.dial)
	if err != nil {
		return nil, err
	}
	pc := paho.ClientConfig{
		// Several goroutines publish on one connection: paho writes each
		// packet with one call, and the wrapper makes those calls exclusive
		// (the chaos layer's conns need not be safe for concurrent writes).
		Conn:          packets.NewThreadSafeConn(conn),
		PacketTimeout: cfg.AckTimeout,
		OnClientError: o.onError,
	}
	if o.onServer != nil {
		pc.OnServerDisconnect = o.onServer
	}
	if o.onPub != nil {
		pc.OnPublishReceived = []func(paho.PublishReceived) (bool, error){o.onPub}
	} else {
		pc.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(paho.PublishReceived) (bool, error) { return true, nil }}
	}
	c := paho.NewClient(pc)
	receiveMax := uint16(65535)
	cp := &paho.Connect{
		ClientID:   clientID(cfg.ClientID, o.role),
		KeepAlive:  keepAlive,
		CleanStart: true,
		Properties: &paho.ConnectProperties{ReceiveMaximum: &receiveMax, RequestProblemInfo: true},
	}
	if cfg.User != "" {
		cp.Username, cp.UsernameFlag = cfg.User, true
	}
	if cfg.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(cfg.Password), true
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		if ca != nil && ca.ReasonCode != 0 {
			return nil, fmt.Errorf("mqtt: connect to %s: refused: reason %d (%s)", cfg.Addr, ca.ReasonCode, reasonString(ca))
		}
		return nil, explainTLS(cfg, fmt.Errorf("mqtt: connect to %s: %w", cfg.Addr, err))
	}
	if ca.Properties != nil && cfg.Shared != "" && !ca.Properties.SharedSubAvailable {
		_ = c.Disconnect(&paho.Disconnect{})
		return nil, fmt.Errorf("mqtt: broker %s does not offer shared subscriptions; drop shared= from the DSN", cfg.Addr)
	}
	return c, nil
}

func reasonString(ca *paho.Connack) string {
	if ca.Properties != nil && ca.Properties.ReasonString != "" {
		return ca.Properties.ReasonString
	}
	switch ca.ReasonCode {
	case 0x86:
		return "bad user name or password"
	case 0x87:
		return "not authorized"
	}
	return "see the broker's log"
}

// clientID is unique per connection, so two connections never take over
// each other's session: "<prefix>-<role>-<12 hex>" (client_id= is the
// prefix, default evbench).
func clientID(prefix, role string) string {
	if prefix == "" {
		prefix = "evbench"
	}
	if role == "" {
		role = "client"
	}
	var b [6]byte
	rand.Read(b[:])
	return prefix + "-" + role + "-" + hex.EncodeToString(b[:])
}
