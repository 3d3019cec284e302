// Package dsntls is the TLS part of a driver's DSN, the same for every
// driver: managed stores (Confluent Cloud, CloudAMQP, Redis Cloud, HiveMQ
// Cloud, Synadia Cloud) accept only TLS, so each driver reads the same
// parameters with the same errors and wraps its dialer the same way.
//
//	tls=true|false          encrypt (implied by any setting below, or by a TLS scheme: amqps, rediss, mqtts, tls)
//	ca=FILE                 PEM bundle of the CAs that sign the server's certificate (default: the system roots)
//	cert=FILE&key=FILE      a client certificate and its key (mutual TLS)
//	server_name=NAME        the name the server's certificate must carry (default: the host dialled)
//	insecure_skip_verify=true  accept any certificate: encrypted, not authenticated (labelled loudly)
//
// The handshake runs on the connection the harness dialer made, so chaos
// proxies stay in the path: TLS wraps the faults, never bypasses them.
package dsntls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/evbench/evbench/drivers"
)

// Params are the DSN parameters Parse reads, for a driver's list of known
// parameters.
var Params = []string{"ca", "cert", "insecure_skip_verify", "key", "server_name", "tls"}

// Config is a DSN's TLS settings. The zero value is plaintext.
type Config struct {
	// Enabled encrypts every connection.
	Enabled bool
	// CAFile, CertFile, KeyFile, ServerName and InsecureSkipVerify are the
	// parameters of the same names.
	CAFile, CertFile, KeyFile string
	ServerName                string
	InsecureSkipVerify        bool
	// Explicit is true when the DSN said tls=true or tls=false itself
	// (kafka: SASL without TLS must be asked for in so many words).
	Explicit bool

	driver string
	base   *tls.Config // built by Parse from the files above
}

// Parse reads the TLS parameters of q for driver (the errors' prefix,
// e.g. "redis"). scheme is true when the DSN's scheme already asks for
// TLS (amqps://, rediss://, mqtts://); tls=false beside it is refused. The
// files are read here, so a missing or malformed one is an error before
// anything connects.
func Parse(driver string, q url.Values, scheme bool) (Config, error) {
	c := Config{driver: driver, Enabled: scheme}
	if v, ok := first(q, "tls"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s: DSN parameter tls=%q: want true or false", driver, v)
		}
		if scheme && !b {
			return c, fmt.Errorf("%s: DSN parameter tls=false contradicts the DSN's TLS scheme; drop tls=false or use the plaintext scheme", driver)
		}
		c.Enabled, c.Explicit = b, true
	}
	c.CAFile, _ = first(q, "ca")
	c.CertFile, _ = first(q, "cert")
	c.KeyFile, _ = first(q, "key")
	c.ServerName, _ = first(q, "server_name")
	if v, ok := first(q, "insecure_skip_verify"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s: DSN parameter insecure_skip_verify=%q: want true or false", driver, v)
		}
		c.InsecureSkipVerify = b
	}
	implied := ""
	for _, p := range []struct{ name, v string }{{"ca", c.CAFile}, {"cert", c.CertFile}, {"key", c.KeyFile}, {"server_name", c.ServerName}} {
		if p.v != "" && implied == "" {
			implied = p.name
		}
	}
	if c.InsecureSkipVerify && implied == "" {
		implied = "insecure_skip_verify"
	}
	if implied != "" {
		if c.Explicit && !c.Enabled {
			return c, fmt.Errorf("%s: DSN parameter %s= is a TLS setting but tls=false; drop tls=false or the TLS settings", driver, implied)
		}
		c.Enabled = true
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, fmt.Errorf("%s: DSN parameters cert= and key= go together (a client certificate and its private key); give both or neither", driver)
	}
	if c.InsecureSkipVerify && (c.CAFile != "" || c.ServerName != "") {
		return c, fmt.Errorf("%s: DSN parameter insecure_skip_verify=true ignores ca= and server_name=; drop one or the other", driver)
	}
	if c.Enabled {
		base, err := c.build()
		if err != nil {
			return c, err
		}
		c.base = base
	}
	return c, nil
}

func first(q url.Values, k string) (string, bool) {
	vs, ok := q[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// build loads the CA bundle and the client certificate.
func (c *Config) build() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: DSN parameter ca=: %v; give the PEM file of the CA that signed the server's certificate", c.driver, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: DSN parameter ca=%s holds no PEM certificate; give the CA bundle in PEM form", c.driver, c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		// Each file is checked first, so the error names the missing one
		// rather than tls's generic message.
		for _, f := range []struct{ param, path string }{{"cert", c.CertFile}, {"key", c.KeyFile}} {
			fh, err := os.Open(f.path)
			if err != nil {
				return nil, fmt.Errorf("%s: DSN parameter %s=: %v", c.driver, f.param, err)
			}
			fh.Close()
		}
		pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: DSN parameters cert= and key=: %v; want a PEM certificate and its matching PEM private key", c.driver, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// Base is a copy of the tls.Config Parse built (CAs, client certificate,
// server_name, insecure_skip_verify), nil when TLS is off.
func (c Config) Base() *tls.Config {
	if c.base == nil {
		return nil
	}
	return c.base.Clone()
}

// ClientConfig is the tls.Config for a connection to addr (host:port):
// server_name, or else addr's host, is what the certificate must carry.
// nil when TLS is off. For clients that run the handshake themselves
// (NATS upgrades after its INFO line).
func (c Config) ClientConfig(addr string) *tls.Config {
	if !c.Enabled || c.base == nil {
		return nil
	}
	tc := c.base.Clone()
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	return tc
}

// Dial wraps dial (the harness dialer, chaos proxies included) so every
// connection it opens is a TLS client that completed its handshake within
// ctx. dial itself when TLS is off.
func (c Config) Dial(dial drivers.DialFunc) drivers.DialFunc {
	if !c.Enabled {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, c.ClientConfig(addr))
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, c.Explain(fmt.Errorf("%s: TLS handshake with %s: %w", c.driver, addr, err))
		}
		return conn, nil
	}
}

// Explain adds what to do about the usual TLS failures to err (nil stays
// nil): an unknown CA, a name mismatch, a listener that wants a client
// certificate, a plaintext server. An error it explained already is
// returned as it is, so a caller may explain what a dialer explained.
func (c Config) Explain(err error) error {
	var done *explained
	if err == nil || errors.As(err, &done) {
		return err
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	hint := ""
	switch {
	case errors.As(err, &ua):
		hint = "the server's certificate is not signed by a CA in ca=, or by the system roots without ca=: give the CA that signed it"
	case errors.As(err, &hn):
		hint = "the certificate is not for the host dialled: set server_name= to a name it carries"
	case errors.As(err, &rh):
		hint = "the server did not answer in TLS: is this a plaintext port? drop tls or use the TLS port"
	case c.CertFile == "" && (strings.Contains(err.Error(), "certificate required") || strings.Contains(err.Error(), "bad certificate")):
		hint = "the listener requires a client certificate: add cert= and key="
	default:
		return err
	}
	return &explained{err: err, hint: hint}
}

// explained is an error with its TLS hint.
type explained struct {
	err  error
	hint string
}

func (e *explained) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *explained) Unwrap() error { return e.err }

// Describe labels the connection for the result's store line: the
// insecure choice loudly.
func (c Config) Describe() string {
	switch {
	case !c.Enabled:
		return "plaintext"
	case c.InsecureSkipVerify:
		return "TLS WITHOUT CERTIFICATE VERIFICATION (insecure_skip_verify=true: anyone on the path can impersonate the server)"
	case c.CertFile != "":
		return "TLS with client certificate"
	}
	return "TLS"
}

// Warning is the line a driver logs once when the settings are insecure
// but accepted ("" when they are not).
func (c Config) Warning() string {
	if c.Enabled && c.InsecureSkipVerify {
		return c.driver + ": WARNING: insecure_skip_verify=true: server certificates are not verified; the connection is encrypted but anyone on the path can impersonate the server"
	}
	return ""
}
