package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// openTLSDSN opens "rediss://<proxy>/0?stream=evbtest-<random><params>"
// and deletes the streams on the machine's server (behind the proxy) in
// Cleanup.
func openTLSDSN(t testing.TB, proxy, params string, opts drivers.Options) (*Driver, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, "rediss://"+proxy+"/0?stream=evbtest-"+randomHex()+params, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := goredis.NewClient(&goredis.Options{Addr: machineServer, Protocol: 2})
		defer c.Close()
		if err := c.Del(ctx, d.keys...).Err(); err != nil {
			t.Errorf("cleanup: DEL %v: %v", d.keys, err)
		}
		d.Close()
	})
	return d, nil
}

func openTLS(t testing.TB, proxy, params string, opts drivers.Options) *Driver {
	t.Helper()
	d, err := openTLSDSN(t, proxy, params, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// roundTrip appends n events and reads them back through Subscribe.
func roundTrip(t *testing.T, d *Driver, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.Append(ctx, drivertest.Events(n, 3)); err != nil {
		t.Fatalf("append over TLS: %v", err)
	}
	got := 0
	err := d.Subscribe(ctx, drivers.Cursor{}, func(b []drivers.Delivered) error {
		got += len(b)
		if got >= n {
			cancel()
		}
		return nil
	})
	if got != n {
		t.Fatalf("subscribe over TLS delivered %d of %d events (%v)", got, n, err)
	}
}

// TestConformanceTLS: the whole conformance suite over TLS (a TLS proxy
// with a throwaway CA in front of the machine's plaintext Redis).
func TestConformanceTLS(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, false)
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		d := openTLS(t, proxy, "&shards=2&ca="+f.CA, drivers.Options{})
		if s := d.Describe(); !strings.Contains(s, " over TLS, ") {
			t.Errorf("Describe over TLS = %q, want it to name the TLS mode", s)
		}
		return d
	})
}

// TestTLSUsesHarnessDialer: TLS is layered on the connections the harness
// dialer opens (chaos proxies see them), not on a dialer of go-redis's own.
func TestTLSUsesHarnessDialer(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, false)
	var p drivertest.Partition
	d := openTLS(t, proxy, "&timeout=1s&ca="+f.CA, drivers.Options{Dial: p.Dial})
	roundTrip(t, d, 5)
	if p.Dials() == 0 {
		t.Fatal("no TLS connection went through Options.Dial")
	}
	p.Cut(true)
	if _, err := d.Append(context.Background(), drivertest.Events(1, 1)); err == nil {
		t.Fatal("append over TLS through a cut partition succeeded")
	}
	p.Cut(false)
	if _, err := d.Append(context.Background(), drivertest.Events(1, 1)); err != nil {
		t.Fatalf("append over TLS after the partition healed: %v", err)
	}
}

// TestMutualTLS: a listener that requires a client certificate accepts
// cert=/key= and refuses a client without, with the hint to add them.
func TestMutualTLS(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, true)
	d := openTLS(t, proxy, "&ca="+f.CA+"&cert="+f.ClientCert+"&key="+f.ClientKey, drivers.Options{})
	roundTrip(t, d, 20)
	if s := d.Describe(); !strings.Contains(s, "over TLS with client certificate") {
		t.Errorf("Describe with a client certificate = %q", s)
	}
	_, err := openTLSDSN(t, proxy, "&timeout=2s&ca="+f.CA, drivers.Options{})
	if err == nil || strings.Count(err.Error(), "add cert= and key=") != 1 {
		t.Fatalf("Open without a client certificate: %v; want the hint to add cert= and key= (once)", err)
	}
	t.Logf("without a client certificate: %v", err)
}

// TestTLSRefusals: a server certificate from another CA, and a rediss://
// DSN against a plaintext port, fail at Open with what to do.
func TestTLSRefusals(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, false)
	for _, tc := range []struct{ name, addr, params, want string }{
		{"other CA", proxy, "&ca=" + f.OtherCA, "not signed by a CA in ca="},
		{"system roots", proxy, "", "not signed by a CA in ca="},
		{"wrong server_name", proxy, "&ca=" + f.CA + "&server_name=cache.example.com", "set server_name="},
		{"plaintext port", machineServer, "&ca=" + f.CA, "a plaintext Redis port stays silent"},
	} {
		_, err := openTLSDSN(t, tc.addr, "&timeout=2s"+tc.params, drivers.Options{})
		if err == nil || strings.Count(err.Error(), tc.want) != 1 || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("%s: Open: %v; want an error containing %q once", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// TestInsecureSkipVerify: accepted with a loud label and one warning.
func TestInsecureSkipVerify(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, false)
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	d := openTLS(t, proxy, "&insecure_skip_verify=true", drivers.Options{Logf: logf})
	roundTrip(t, d, 5)
	if s := d.Describe(); !strings.Contains(s, "WITHOUT CERTIFICATE VERIFICATION") {
		t.Errorf("Describe = %q, want the insecure label", s)
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, l := range logged {
		if strings.Contains(l, "insecure_skip_verify=true") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("insecure warning logged %d times, want once: %q", n, logged)
	}
}

// TestDurabilityOverTLS: CONFIG GET runs over TLS as over plaintext, so
// the label is read from the server's settings, the same as without TLS.
func TestDurabilityOverTLS(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineServer, false)
	d := openTLS(t, proxy, "&ca="+f.CA, drivers.Options{})
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "redis over TLS", dur, err)
	if d.server.configErr != nil || d.server.appendonly == "" {
		t.Fatalf("CONFIG GET over TLS: %v (appendonly %q)", d.server.configErr, d.server.appendonly)
	}
	plain := openFresh(t, machineServer, "", drivers.Options{})
	want, _ := plain.Durability(context.Background())
	if dur != want {
		t.Errorf("durability over TLS %+v, over plaintext %+v", dur, want)
	}
}
