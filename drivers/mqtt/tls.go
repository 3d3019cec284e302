package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evbench/evbench/drivers"
)

// dialBroker opens one connection to the broker: dial (the harness dialer,
// chaos proxies included) makes the TCP connection, and with TLS on the
// handshake runs on top of it (dsntls.Config.Dial), so a fault proxy sees
// the encrypted bytes and paho gets the TLS net.Conn. TCP_QUICKACK is set
// on the TCP connection underneath: a tls.Conn exposes no socket, and the
// delayed-ACK stall it fixes is the same with TLS.
func dialBroker(ctx context.Context, cfg Config, dial drivers.DialFunc) (net.Conn, error) {
	tcp := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("mqtt: connect to %s: %w", addr, err)
		}
		return quickAck(c), nil
	}
	conn, err := cfg.TLS.Dial(tcp)(ctx, "tcp", cfg.Addr)
	switch {
	case err == nil && cfg.TLS.Enabled:
		return &verdictConn{Conn: conn}, nil
	case err != nil && cfg.TLS.Enabled && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		// A plaintext MQTT listener reads the ClientHello as a malformed
		// CONNECT and hangs up (Mosquitto resets the connection): no TLS
		// record ever comes back, so dsntls's record-header hint cannot fire.
		err = fmt.Errorf("%w (the broker closed the connection during the TLS handshake: is %s a plaintext port? MQTT over TLS is usually port %s; use mqtt:// for a plaintext listener)", err, cfg.Addr, tlsPort)
	}
	return conn, err
}

// alertWait bounds the look for a TLS alert after the CONNECT could not
// be written.
const alertWait = 200 * time.Millisecond

// verdictConn reports the server's TLS verdict when writing the CONNECT
// fails. With TLS 1.3 the client's side of the handshake ends before the
// server has checked the client certificate: a listener that requires one
// sends its alert ("certificate required") and closes, and the CONNECT
// written meanwhile often fails with "broken pipe", which says nothing.
// The alert is then usually in the receive buffer already, so one short
// read brings it up instead. Only until the first Read (paho reads the
// CONNACK after the CONNECT is out): after that paho's reader owns the
// connection's input and write errors pass through as they are.
type verdictConn struct {
	net.Conn
	reading atomic.Bool
}

func (c *verdictConn) Read(b []byte) (int, error) {
	c.reading.Store(true)
	return c.Conn.Read(b)
}

func (c *verdictConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil && !c.reading.Load() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(alertWait))
		var one [1]byte
		if _, rerr := c.Conn.Read(one[:]); rerr != nil && strings.Contains(rerr.Error(), "remote error: tls:") {
			return n, rerr
		}
	}
	return n, err
}

// explainTLS adds dsntls's hint to a failed CONNECT over TLS (the
// certificate-required alert surfaces there, see verdictConn). Plaintext
// errors are returned unchanged.
func explainTLS(cfg Config, err error) error {
	if !cfg.TLS.Enabled {
		return err
	}
	return cfg.TLS.Explain(err)
}

// tlsWarned holds the TLS warnings already logged: a run opens the driver
// several times (producer, consumer, control), and one WARNING per process
// is enough.
var tlsWarned sync.Map

// warnTLS logs cfg's insecure-TLS warning once per process.
func warnTLS(cfg Config, opts drivers.Options) {
	w := cfg.TLS.Warning()
	if w == "" {
		return
	}
	if _, dup := tlsWarned.LoadOrStore(w, true); !dup {
		opts.Log("%s", w)
	}
}
