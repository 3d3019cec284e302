package nats

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// startServerWith runs an in-process JetStream server (SyncAlways, as
// startServer, for the conformance suite's stream churn) with the options
// edit sets: TLS, users, tokens. NATS upgrades to TLS after its plaintext
// INFO line, so drivertest.TLSProxy (TLS from the first byte) cannot stand
// in front of a plaintext server: the server itself speaks TLS here.
func startServerWith(t testing.TB, edit func(*server.Options)) string {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, SyncAlways: true}
	edit(o)
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	if !o.NoLog {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats-server not ready within 10s")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.Addr().String()
}

// startTLSServer is a JetStream server with the test CA's server
// certificate; requireClient demands a client certificate (mutual TLS).
func startTLSServer(t testing.TB, f drivertest.TLSFiles, requireClient bool) string {
	return startServerWith(t, func(o *server.Options) {
		o.TLS, o.TLSVerify, o.TLSConfig, o.TLSTimeout = true, requireClient, f.ServerConfig(requireClient), 5
	})
}

// openErr opens dsn (plus a fresh stream) and returns the error, closing a
// driver that opened.
func openErr(t *testing.T, dsn string, opts drivers.Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, opts)
	if err == nil {
		d.Close()
	}
	return err
}

// TestConformanceTLS: the conformance suite over tls:// with ca=; every
// connection was dialled by the harness dialer and is a TLS connection.
func TestConformanceTLS(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	addr := startTLSServer(t, f, false)
	var dials atomic.Int64
	opts := drivers.Options{Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}}
	dsn := "tls://" + addr + "/" + uniqueParams() + "&ca=" + f.CA
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.nc.TLSConnectionState(); err != nil {
		t.Fatalf("connection is not TLS: %v", err)
	}
	if dials.Load() == 0 {
		t.Fatal("the harness dialer was bypassed")
	}
	if got := d.Describe(); !strings.HasSuffix(got, ", TLS") {
		t.Fatalf("Describe() = %q, want it to end with the TLS mode", got)
	}
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return openFresh(t, "tls://localhost:"+port(addr), "&ca="+f.CA)
	})
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// TestTLSSettings: what each TLS setting does against a real TLS server,
// and the hint each failure carries.
func TestTLSSettings(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	plainAddr := startServerWith(t, func(*server.Options) {})
	tlsAddr := startTLSServer(t, f, false)
	mtlsAddr := startTLSServer(t, f, true)
	client := "&cert=" + f.ClientCert + "&key=" + f.ClientKey
	tests := []struct {
		name, dsn string
		wantErr   string // "" = opens
		describe  string // Describe() must contain it
	}{
		{"tls scheme with ca", "tls://" + tlsAddr + "/?ca=" + f.CA, "", ", TLS"},
		{"tls=true on nats scheme", "nats://" + tlsAddr + "?tls=true&ca=" + f.CA, "", ", TLS"},
		{"ca implies tls", "nats://" + tlsAddr + "?ca=" + f.CA, "", ", TLS"},
		{"localhost name checked", "tls://localhost:" + port(tlsAddr) + "/?ca=" + f.CA, "", ", TLS"},
		{"mutual TLS", "tls://" + mtlsAddr + "/?ca=" + f.CA + client, "", "TLS with client certificate"},
		{"mutual TLS without a client certificate", "tls://" + mtlsAddr + "/?ca=" + f.CA, "add cert= and key=", ""},
		{"other CA", "tls://" + tlsAddr + "/?ca=" + f.OtherCA, "not signed by a CA in ca=", ""},
		{"system roots", "tls://" + tlsAddr, "not signed by a CA in ca=", ""},
		{"wrong server_name", "tls://" + tlsAddr + "/?ca=" + f.CA + "&server_name=nats.example.com", "set server_name=", ""},
		{"right server_name", "tls://" + tlsAddr + "/?ca=" + f.CA + "&server_name=localhost", "", ", TLS"},
		{"insecure", "tls://" + tlsAddr + "/?insecure_skip_verify=true", "", "WITHOUT CERTIFICATE VERIFICATION"},
		{"tls to a plaintext server", "tls://" + plainAddr + "/?ca=" + f.CA, "the server offers no TLS", ""},
		{"plaintext DSN unchanged", "nats://" + plainAddr, "", "batch = N independent publishes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var logs []string
			opts := drivers.Options{Logf: func(format string, args ...any) {
				mu.Lock()
				logs = append(logs, fmt.Sprintf(format, args...))
				mu.Unlock()
			}}
			dsn := tc.dsn + strings.Replace(uniqueParams(), "?", sep(tc.dsn), 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := Open(ctx, dsn, opts)
			if tc.wantErr != "" {
				if err == nil {
					d.Close()
					t.Fatalf("opened; want an error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %q; want one line containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.js.DeleteStream(context.Background(), d.cfg.Stream); d.Close() }()
			if _, err := d.Append(ctx, drivertest.Events(3, 1)); err != nil {
				t.Fatal(err)
			}
			if got := d.Describe(); !strings.Contains(got, tc.describe) {
				t.Fatalf("Describe() = %q, want %q in it", got, tc.describe)
			}
			_, tlsErr := d.nc.TLSConnectionState()
			if (tlsErr == nil) != d.cfg.TLS.Enabled {
				t.Fatalf("TLS enabled %v, connection TLS state error %v", d.cfg.TLS.Enabled, tlsErr)
			}
			warned := 0
			for _, l := range logs {
				if strings.Contains(l, "WARNING: insecure_skip_verify") {
					warned++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[d.cfg.TLS.InsecureSkipVerify]; warned != want {
				t.Fatalf("insecure warning logged %d times, want %d (logs %q)", warned, want, logs)
			}
		})
	}
}

// sep is what joins more parameters to dsn: "&" after a query, else "?".
func sep(dsn string) string {
	if strings.Contains(dsn, "?") {
		return "&"
	}
	if strings.HasPrefix(dsn, "tls://") {
		return "/?"
	}
	return "?"
}

// TestTLSMachineServerPlaintext: tls:// against the machine's plaintext
// server is refused with the plaintext-port hint (nothing is created).
func TestTLSMachineServerPlaintext(t *testing.T) {
	drivertest.RequireService(t, "nats", machineServer)
	err := openErr(t, "tls://"+machineServer+"/"+uniqueParams(), drivers.Options{})
	if err == nil || !strings.Contains(err.Error(), "offers no TLS") {
		t.Fatalf("error %v; want the plaintext-port hint", err)
	}
}
