// Package kafkatest starts kfake clusters the way managed Kafka services
// look to a client: TLS with a throwaway CA and SASL users. Tests of the
// kafka driver and of the CLI use it; nothing here is for production.
package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// PKI is a throwaway CA with a broker certificate for 127.0.0.1 and
// "broker.evbench.test", and a client certificate, written as PEM files
// into a test's temporary directory.
type PKI struct {
	CAFile, CertFile, KeyFile string // CA, client certificate and its key
	// ServerTLS is the brokers' listener config: the broker certificate,
	// client certificates verified when given.
	ServerTLS *tls.Config
}

// NewPKI makes a fresh CA and its certificates (ECDSA P-256, valid for an
// hour either side of now).
func NewPKI(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := newCert(t, "evbench test CA", nil, nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign
	})
	srvKey, _, srvDER := newCert(t, "broker", caCert, caKey, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		c.DNSNames = []string{"broker.evbench.test"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	cliKey, _, cliDER := newCert(t, "client", caCert, caKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	p := PKI{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client-key.pem")}
	writePEM(t, p.CAFile, "CERTIFICATE", caDER)
	writePEM(t, p.CertFile, "CERTIFICATE", cliDER)
	kb, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.KeyFile, "EC PRIVATE KEY", kb)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	p.ServerTLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	return p
}

// newCert makes a certificate signed by parent (self-signed when nil).
func newCert(t testing.TB, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, edit func(*x509.Certificate)) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	edit(tmpl)
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
	return key, c, der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The SASL users StartSecure seeds: all superusers (kfake's ACLs stay off).
const (
	ScramUser, ScramPass       = "evb-scram", "scram-pw-0451"     // SCRAM-SHA-256
	Scram512User, Scram512Pass = "evb-scram-512", "scram-pw-9902" // SCRAM-SHA-512
	PlainUser, PlainPass       = "evb-plain", "plain-pw-7731"     // PLAIN
)

// StartSecure starts a one-broker kfake cluster on 127.0.0.1 with TLS
// (serverTLS) and SASL, closed with the test.
func StartSecure(t testing.TB, serverTLS *tls.Config) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", ScramUser, ScramPass),
		kfake.Superuser("SCRAM-SHA-512", Scram512User, Scram512Pass),
		kfake.Superuser("PLAIN", PlainUser, PlainPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
