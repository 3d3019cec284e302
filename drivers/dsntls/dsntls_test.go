package dsntls

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/drivertest"
)

func TestParse(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	q := url.QueryEscape
	for _, c := range []struct {
		query   string
		scheme  bool
		want    string // error substring; "" = accepted
		enabled bool
		label   string
	}{
		{"", false, "", false, "plaintext"},
		{"", true, "", true, "TLS"},
		{"tls=true", false, "", true, "TLS"},
		{"tls=false", false, "", false, "plaintext"},
		{"ca=" + q(f.CA), false, "", true, "TLS"},
		{"server_name=b.example", false, "", true, "TLS"},
		{"cert=" + q(f.ClientCert) + "&key=" + q(f.ClientKey), false, "", true, "TLS with client certificate"},
		{"insecure_skip_verify=true", false, "", true, "TLS WITHOUT CERTIFICATE VERIFICATION"},
		{"tls=maybe", false, `x: DSN parameter tls="maybe": want true or false`, false, ""},
		{"tls=false", true, "tls=false contradicts the DSN's TLS scheme", false, ""},
		{"tls=false&ca=" + q(f.CA), false, "ca= is a TLS setting but tls=false", false, ""},
		{"ca=/nonexistent/ca.pem", false, "x: DSN parameter ca=: open /nonexistent/ca.pem", false, ""},
		{"ca=" + q(f.ClientKey), false, "holds no PEM certificate", false, ""},
		{"cert=" + q(f.ClientCert), false, "cert= and key= go together", false, ""},
		{"cert=/nonexistent/c.pem&key=" + q(f.ClientKey), false, "x: DSN parameter cert=: open /nonexistent/c.pem", false, ""},
		{"cert=" + q(f.ClientCert) + "&key=" + q(f.ServerKey), false, "want a PEM certificate and its matching PEM private key", false, ""},
		{"insecure_skip_verify=true&ca=" + q(f.CA), false, "ignores ca=", false, ""},
	} {
		v, _ := url.ParseQuery(c.query)
		cfg, err := Parse("x", v, c.scheme)
		switch {
		case c.want != "":
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q (scheme %v): %v; want an error containing %q", c.query, c.scheme, err, c.want)
			}
		case err != nil:
			t.Errorf("%q (scheme %v): %v", c.query, c.scheme, err)
		case cfg.Enabled != c.enabled || !strings.HasPrefix(cfg.Describe(), c.label):
			t.Errorf("%q (scheme %v): enabled %v, label %q; want %v, %q", c.query, c.scheme, cfg.Enabled, cfg.Describe(), c.enabled, c.label)
		}
	}
}

// echo serves a plaintext echo on a fresh port.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// greeter is a plaintext server that answers anything with a protocol
// header, as AMQP does to a client it cannot understand.
func greeter(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Read(make([]byte, 512))
				c.Write([]byte("AMQP\x00\x00\x09\x01"))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestDial: the handshake runs over the harness dialer's connection and
// verifies the server; each usual failure comes back with its fix.
func TestDial(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	target := echo(t)
	plain, mutual := drivertest.TLSProxy(t, f, target, false), drivertest.TLSProxy(t, f, target, true)
	q := url.QueryEscape
	var dials int
	var d net.Dialer
	base := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials++
		return d.DialContext(ctx, network, addr)
	}
	for _, c := range []struct {
		name, query, addr, want string
	}{
		{"verified", "ca=" + q(f.CA), plain, ""},
		{"by name", "ca=" + q(f.CA) + "&server_name=localhost", plain, ""},
		{"unknown CA", "ca=" + q(f.OtherCA), plain, "not signed by a CA in ca="},
		{"system roots", "tls=true", plain, "not signed by a CA in ca="},
		{"wrong name", "ca=" + q(f.CA) + "&server_name=store.example", plain, "set server_name="},
		{"mutual", "ca=" + q(f.CA) + "&cert=" + q(f.ClientCert) + "&key=" + q(f.ClientKey), mutual, ""},
		{"no client cert", "ca=" + q(f.CA), mutual, "add cert= and key="},
		{"plaintext port", "ca=" + q(f.CA), greeter(t), ""}, // answers a ClientHello with a plaintext protocol's header
		{"insecure", "insecure_skip_verify=true", plain, ""},
	} {
		v, _ := url.ParseQuery(c.query)
		cfg, err := Parse("x", v, false)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		before := dials
		conn, err := cfg.Dial(base)(ctx, "tcp", c.addr)
		if err == nil {
			// A mutual-TLS refusal can arrive after the handshake (TLS 1.3).
			_, err = conn.Write([]byte("ping"))
			if err == nil {
				buf := make([]byte, 4)
				conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, err = conn.Read(buf)
			}
			conn.Close()
			err = cfg.Explain(err)
		}
		cancel()
		if dials != before+1 {
			t.Errorf("%s: the harness dialer was not used", c.name)
		}
		switch {
		case c.name == "plaintext port":
			if err == nil || !strings.Contains(err.Error(), "plaintext port") {
				t.Errorf("%s: %v; want the plaintext-port hint", c.name, err)
			}
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestExplainOnce: explaining an explained error adds nothing.
func TestExplainOnce(t *testing.T) {
	var c Config
	err := c.Explain(fmt.Errorf("dial: %w", x509.UnknownAuthorityError{}))
	again := c.Explain(fmt.Errorf("open: %w", err))
	if n := strings.Count(again.Error(), "not signed by a CA"); n != 1 {
		t.Errorf("hint %d times in %q, want once", n, again)
	}
	if !errors.As(again, new(x509.UnknownAuthorityError)) {
		t.Errorf("%v: the cause is lost", again)
	}
}
