package drivertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TLSFiles is a throwaway CA and certificates it signed, as PEM files in a
// test's temporary directory: a server certificate for 127.0.0.1 and
// localhost, and a client certificate (mutual TLS).
type TLSFiles struct {
	CA                    string // the CA's certificate: what a DSN's ca= names
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	OtherCA               string // a CA that signed nothing here: for "unknown authority" tests
	server                tls.Certificate
	pool                  *x509.CertPool
}

// NewTLSFiles makes a CA and its certificates for one test.
func NewTLSFiles(t testing.TB) TLSFiles {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "evbench test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true})
	other, _ := newCert(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "evbench other CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true})
	srv, srvKey := newCert(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	cli, cliKey := newCert(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "evbench client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	f := TLSFiles{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw), OtherCA: writePEM(t, dir, "other-ca.pem", "CERTIFICATE", other.Raw),
		ServerCert: writePEM(t, dir, "server.pem", "CERTIFICATE", srv.Raw), ServerKey: writeKey(t, dir, "server-key.pem", srvKey),
		ClientCert: writePEM(t, dir, "client.pem", "CERTIFICATE", cli.Raw), ClientKey: writeKey(t, dir, "client-key.pem", cliKey)}
	var err error
	if f.server, err = tls.LoadX509KeyPair(f.ServerCert, f.ServerKey); err != nil {
		t.Fatal(err)
	}
	f.pool = x509.NewCertPool()
	f.pool.AddCert(ca)
	return f
}

// ServerConfig is a server's TLS configuration with the server
// certificate; requireClient demands a client certificate the CA signed.
func (f TLSFiles) ServerConfig(requireClient bool) *tls.Config {
	tc := &tls.Config{Certificates: []tls.Certificate{f.server}, MinVersion: tls.VersionTLS12}
	if requireClient {
		tc.ClientAuth, tc.ClientCAs = tls.RequireAndVerifyClientCert, f.pool
	}
	return tc
}

func newCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKey(t testing.TB, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}

// TLSProxy terminates TLS on a fresh 127.0.0.1 port and forwards each
// connection in plaintext to target (the machine's RabbitMQ, Redis,
// Mosquitto): a TLS endpoint in front of a service that has none, for a
// driver's TLS tests. It returns the proxy's address and closes with the
// test. requireClient demands a client certificate.
func TLSProxy(t testing.TB, f TLSFiles, target string, requireClient bool) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.ServerConfig(requireClient))
	if err != nil {
		t.Fatal(err)
	}
	Forward(t, ln, target, nil)
	return ln.Addr().String()
}

// Forward accepts on ln until the test ends and pipes each connection to
// target. tap, when set, also gets what each client writes, on a reader it
// must read to the end (a test decoding the first packet, say). Everything
// is closed, and every goroutine done, when the test ends.
func Forward(t testing.TB, ln net.Listener, target string, tap func(client io.Reader)) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			var toUp io.Writer = up
			var pw *io.PipeWriter
			if tap != nil {
				var pr *io.PipeReader
				pr, pw = io.Pipe()
				toUp = io.MultiWriter(up, pw)
				wg.Add(1)
				go func() { defer wg.Done(); tap(pr); io.Copy(io.Discard, pr) }()
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				io.Copy(toUp, c)
				if pw != nil {
					pw.Close()
				}
				up.Close()
			}()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
}
