package kafka

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/evbench/evbench/drivers/kafka/kafkatest"
)

const (
	scramUser, scramPass = kafkatest.ScramUser, kafkatest.ScramPass
	plainUser, plainPass = kafkatest.PlainUser, kafkatest.PlainPass
)

// secureDSN is a DSN for the cluster with the given userinfo and query.
func secureDSN(c *kfake.Cluster, ui *url.Userinfo, query string) string {
	u := url.URL{Scheme: "kafka", User: ui, Host: strings.Join(c.ListenAddrs(), ","), RawQuery: "topic=" + randomTopic() + "&" + query}
	return u.String()
}

func openDSN(t testing.TB, dsn string, opts drivers.Options) (*Driver, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, opts)
	if err == nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}

// TestConformanceSCRAMOverTLS is the acceptance test of managed Kafka:
// the whole conformance suite over SASL/SCRAM-SHA-256 + TLS (CA-verified),
// every connection through a counting Options.Dial, as the chaos proxies'
// hook would see it.
func TestConformanceSCRAMOverTLS(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	c := kafkatest.StartSecure(t, pki.ServerTLS)
	var mu sync.Mutex
	dials := 0
	opts := drivers.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	open := func(t *testing.T) drivers.Driver {
		d, err := openDSN(t, secureDSN(c, url.UserPassword(scramUser, scramPass), "partitions=3&sasl=scram-sha-256&ca="+url.QueryEscape(pki.CAFile)), opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Describe(); !strings.Contains(got, "TLS, SASL SCRAM-SHA-256") {
			t.Fatalf("Describe = %q, want the TLS and SASL label", got)
		}
		return d
	}
	drivertest.Run(t, open)
	// The consumer-group path (durable.go) authenticates on its own
	// connections to the group coordinator.
	t.Run("DurableResume", func(t *testing.T) { drivertest.CheckDurableResume(t, open) })
	mu.Lock()
	defer mu.Unlock()
	if dials == 0 {
		t.Fatal("no connection went through Options.Dial: TLS bypasses the chaos hook")
	}
}

// TestSecureConnections: every mechanism kfake offers connects over TLS;
// wrong credentials, a wrong CA, a wrong server name and plaintext against
// a TLS listener fail within the ping timeout with an error that says why.
func TestSecureConnections(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	c := kafkatest.StartSecure(t, pki.ServerTLS)
	other := kafkatest.NewPKI(t) // a CA that did not sign the brokers' certificate
	ca := "ca=" + url.QueryEscape(pki.CAFile)
	tests := []struct {
		name    string
		ui      *url.Userinfo
		query   string
		wantErr string // "" = connects and appends
	}{
		{"plain via userinfo", url.UserPassword(plainUser, plainPass), ca, ""},
		{"plain explicit", url.UserPassword(plainUser, plainPass), "sasl=PLAIN&tls=true&" + ca, ""},
		{"scram-sha-512", url.UserPassword(kafkatest.Scram512User, kafkatest.Scram512Pass), "sasl=scram-sha-512&" + ca, ""},
		{"client certificate", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&" + ca + "&cert=" + url.QueryEscape(pki.CertFile) + "&key=" + url.QueryEscape(pki.KeyFile), ""},
		{"server name", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&server_name=broker.evbench.test&" + ca, ""},
		{"insecure skip verify", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&insecure_skip_verify=true", ""},
		{"wrong password", url.UserPassword(scramUser, "not-the-password"), "sasl=scram-sha-256&" + ca, "wrong user or password"},
		{"wrong plain password", url.UserPassword(plainUser, "not-the-password"), ca, "wrong user or password"},
		{"wrong mechanism for user", url.UserPassword(plainUser, plainPass), "sasl=scram-sha-256&" + ca, "wrong user or password"},
		{"wrong CA", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&ca=" + url.QueryEscape(other.CAFile), "not signed by a CA in ca="},
		{"system roots", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&tls=true", "certificate"},
		{"wrong server name", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&server_name=elsewhere.test&" + ca, "elsewhere.test"},
		{"plaintext to TLS listener", url.UserPassword(scramUser, scramPass), "sasl=scram-sha-256&tls=false", "is TLS missing?"},
		{"no SASL", nil, ca, "is SASL missing?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs []string
			opts := drivers.Options{Logf: func(f string, a ...any) { logs = append(logs, f) }}
			start := time.Now()
			dsn := secureDSN(c, tc.ui, tc.query)
			d, err := openDSN(t, dsn, opts)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatal("connected, want an error")
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), scramPass) || strings.Contains(err.Error(), "not-the-password") {
					t.Fatalf("error leaks the password: %v", err)
				}
				if el := time.Since(start); el > 2*pingTimeout {
					t.Fatalf("failing took %s", el)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := d.Append(ctx, []drivers.Event{{ID: [16]byte{1}, Key: "k", Seq: 1, Type: "t", Payload: []byte("{}")}}); err != nil {
				t.Fatalf("append over TLS+SASL: %v", err)
			}
			if strings.Contains(tc.query, "insecure_skip_verify") {
				if !strings.Contains(d.Describe(), "WITHOUT CERTIFICATE VERIFICATION") || len(d.cfg.Security.warnings()) == 0 {
					t.Fatalf("insecure_skip_verify not labelled: Describe %q, logs %q", d.Describe(), logs)
				}
			}
		})
	}
}

// TestOAuthBearerToken: the token, inline or re-read from its file at each
// authentication, is what the OAUTHBEARER client message carries (kfake
// has no OAUTHBEARER, so the exchange itself is not run here).
func TestOAuthBearerToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok-from-file-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dsn, want string }{
		{"kafka://h:9093?tls=true&token=tok-inline", "tok-inline"},
		{"kafka://h:9093?tls=true&sasl=oauthbearer&token_file=" + url.QueryEscape(file), "tok-from-file-1"},
	} {
		cfg, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Security.Mechanism != "oauthbearer" {
			t.Fatalf("%s: mechanism %q", tc.dsn, cfg.Security.Mechanism)
		}
		first := clientFirst(t, cfg)
		if !strings.Contains(first, "auth=Bearer "+tc.want+"\x01") {
			t.Fatalf("%s: client message %q lacks the token", tc.dsn, first)
		}
		if strings.Contains(tc.dsn, "token_file") {
			if err := os.WriteFile(file, []byte("tok-from-file-2"), 0o600); err != nil {
				t.Fatal(err)
			}
			if again := clientFirst(t, cfg); !strings.Contains(again, "auth=Bearer tok-from-file-2\x01") {
				t.Fatalf("a refreshed token file is not read again: %q", again)
			}
		}
	}
}

func clientFirst(t *testing.T, cfg Config) string {
	t.Helper()
	m := cfg.Security.saslMechanism()
	if m == nil || m.Name() != "OAUTHBEARER" {
		t.Fatalf("mechanism %v", m)
	}
	_, msg, err := m.Authenticate(context.Background(), "h:9093")
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

// TestMutualTLS: a listener that requires client certificates accepts the
// one given by cert= and key=, and refuses a client without one.
func TestMutualTLS(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	srv := pki.ServerTLS.Clone()
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	c := kafkatest.StartSecure(t, srv)
	ui := url.UserPassword(scramUser, scramPass)
	ca := "sasl=scram-sha-256&ca=" + url.QueryEscape(pki.CAFile)
	if _, err := openDSN(t, secureDSN(c, ui, ca+"&cert="+url.QueryEscape(pki.CertFile)+"&key="+url.QueryEscape(pki.KeyFile)), drivers.Options{}); err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	d, err := openDSN(t, secureDSN(c, ui, ca), drivers.Options{})
	if err == nil {
		t.Fatalf("connected without a client certificate to a listener requiring one: %s", d.Describe())
	}
	if !strings.Contains(err.Error(), "add cert= and key=") {
		t.Fatalf("error %q does not say a client certificate is needed", err)
	}
}

// TestPartitionUnderTLS: a network partition applied by Options.Dial (how
// the chaos layer cuts a path) reaches a TLS + SASL connection: the append
// fails instead of hanging, and once healed the driver reconnects,
// handshakes and authenticates again.
func TestPartitionUnderTLS(t *testing.T) {
	t.Parallel() // mostly waiting
	pki := kafkatest.NewPKI(t)
	c := kafkatest.StartSecure(t, pki.ServerTLS)
	p := &drivertest.Partition{}
	d, err := openDSN(t, secureDSN(c, url.UserPassword(scramUser, scramPass), "partitions=2&delivery_timeout=2s&sasl=scram-sha-256&ca="+url.QueryEscape(pki.CAFile)), drivers.Options{Dial: p.Dial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Append(context.Background(), drivertest.Events(4, 2)); err != nil {
		t.Fatalf("append before the partition: %v", err)
	}
	p.Cut(true)
	errc := make(chan error, 1)
	go func() { _, err := d.Append(context.Background(), drivertest.Events(4, 2)); errc <- err }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("append through a partition succeeded")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("append through a partition hung for 15s")
	}
	p.Cut(false)
	before := p.Dials()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := d.Append(ctx, drivertest.Events(4, 2))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no append succeeded within 15s of healing: %v", err)
		}
	}
	// Writes swallowed during the cut leave a TLS stream that cannot go on:
	// healing must have dialled, handshaken and authenticated afresh.
	if p.Dials() == before {
		t.Fatal("healed without a new connection through Options.Dial")
	}
}
