package nats

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// tlsOption is nats.go's own TLS option, or nil for plaintext. NATS
// upgrades in-protocol (the server's INFO line is plaintext), so the
// handshake cannot wrap the dialer as dsntls.Config.Dial does: the
// harness dialer still makes the raw connection (nats.SetCustomDialer)
// and nats.go runs the handshake on it. Without server_name= the name is
// left blank so nats.go checks each server (and each one a cluster
// announces) against its own host name.
func (c Config) tlsOption() nats.Option {
	tc := c.clientTLS()
	if tc == nil {
		return nil
	}
	return nats.Secure(tc)
}

// clientTLS is the tls.Config tlsOption hands nats.go.
func (c Config) clientTLS() *tls.Config {
	tc := c.TLS.ClientConfig(c.Servers[0])
	if tc != nil && c.TLS.ServerName == "" {
		tc.ServerName = ""
	}
	return tc
}

// explain adds what to do to a connect error over TLS: the dsntls hints
// (unknown CA, wrong name, client certificate required) and NATS's own
// "secure connection not available" (a server without TLS). Plaintext
// errors are returned unchanged.
func (c Config) explain(err error) error {
	if !c.TLS.Enabled || err == nil {
		return err
	}
	switch {
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("%w (the server offers no TLS: is this a plaintext port? drop tls or use the TLS port)", err)
	case strings.Contains(err.Error(), "closed by remote after TLS handshake") && c.TLS.CertFile == "":
		// TLS 1.3: the server checks the client certificate after the
		// client's handshake has completed, and its alert is lost in
		// nats.go's "connection closed" error.
		return fmt.Errorf("%w (the server hung up after the TLS handshake, as a listener that requires a client certificate does: add cert= and key=)", err)
	case strings.Contains(err.Error(), "closed by remote after TLS handshake"):
		return fmt.Errorf("%w (the server hung up after the TLS handshake: does it trust the CA that signed cert=?)", err)
	}
	return c.TLS.Explain(err)
}
