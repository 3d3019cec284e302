package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// probeStreamTLS finds out why a type=stream connection over TLS failed.
// rabbitmq-stream-go-client runs the handshake inside its first write and
// reports any failure as a 5 s timeout waiting for peer properties, so
// after such a failure this handshake, on a connection of its own, names
// the cause (unknown CA, name mismatch, plaintext port) with dsntls's
// hints. A TLS 1.3 server refuses a client certificate only after the
// handshake, so it also reads for a moment: the stream server says nothing
// first, so a timeout means no alert came. nil when it finds nothing.
func probeStreamTLS(ctx context.Context, cfg Config) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	dial := cfg.TLS.Dial(func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	})
	c, err := dial(dctx, "tcp", cfg.streamAddr())
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		// The stream protocol hangs up on a ClientHello without a word.
		return fmt.Errorf("%w (the server hung up on the TLS handshake: is stream_port=%d a plaintext stream port? RabbitMQ's stream TLS listener is usually 5551)", err, cfg.StreamPort)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return cfg.TLS.Explain(err)
	}
	return nil
}
