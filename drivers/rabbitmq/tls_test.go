package rabbitmq

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// tlsBase is the amqps:// DSN base (guest/guest, default vhost) of the
// TLS proxy at addr.
func tlsBase(addr string) string {
	return "amqps://guest:guest@" + addr + "/"
}

// tlsParams are ca= (when given), cert=/key= (when given) as a query tail.
func tlsParams(ca, cert, key string) string {
	var b strings.Builder
	for _, p := range [][2]string{{"ca", ca}, {"cert", cert}, {"key", key}} {
		if p[1] != "" {
			b.WriteString("&" + p[0] + "=" + url.QueryEscape(p[1]))
		}
	}
	return b.String()
}

// TestParseDSNTLS: amqps:// and tls=true turn TLS on (amqps defaults to
// port 5671, amqp:// keeps 5672), the files are read at parse time, and
// the contradictions are one-line errors before anything connects.
func TestParseDSNTLS(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	ok := []struct {
		dsn  string
		want func(Config) bool
	}{
		{"amqps://u:p@b-1234.mq.eu-west-1.amazonaws.com/", func(c Config) bool {
			return c.TLS.Enabled && c.Addr == "b-1234.mq.eu-west-1.amazonaws.com:5671" && c.amqpURL() == "amqp://u:p@b-1234.mq.eu-west-1.amazonaws.com:5671/"
		}},
		{"amqps://u:p@h:5999/v", func(c Config) bool { return c.TLS.Enabled && c.Addr == "h:5999" && c.VHost == "v" }},
		{"amqp://h/?tls=true", func(c Config) bool { return c.TLS.Enabled && c.Addr == "h:5672" }},
		{"amqp://h/?ca=" + url.QueryEscape(f.CA), func(c Config) bool { return c.TLS.Enabled && c.TLS.Describe() == "TLS" }},
		{"amqps://h/?" + tlsParams(f.CA, f.ClientCert, f.ClientKey)[1:], func(c Config) bool {
			return c.TLS.Describe() == "TLS with client certificate" && strings.HasSuffix(c.tlsSuffix(), ", TLS with client certificate")
		}},
		{"amqp://h/", func(c Config) bool { return !c.TLS.Enabled && c.tlsSuffix() == "" && c.Addr == "h:5672" }},
		{"amqp://h/?tls=false&type=stream", func(c Config) bool { return !c.TLS.Enabled && c.Type == TypeStream && c.StreamPort == 5552 }},
		{"amqps://h/?type=stream", func(c Config) bool { return c.TLS.Enabled && c.streamAddr() == "h:5551" }},
		{"amqps://h/?type=stream&stream_port=5552", func(c Config) bool { return c.TLS.Enabled && c.streamAddr() == "h:5552" }},
	}
	for _, tc := range ok {
		c, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if !tc.want(c) {
			t.Errorf("%s: parsed %+v (amqp URL %s)", tc.dsn, c, c.amqpURL())
		}
	}
	const pw = "hunter2secret"
	bad := []struct{ dsn, want string }{
		{"amqps://guest:" + pw + "@h/?ca=/nonexistent/ca.pem", "rabbitmq: DSN parameter ca=: open /nonexistent/ca.pem"},
		{"amqps://guest:" + pw + "@h/?cert=" + url.QueryEscape(f.ClientCert), "cert= and key= go together"},
		{"amqps://guest:" + pw + "@h/?tls=false", "tls=false contradicts the DSN's TLS scheme"},
		{"amqp://guest:" + pw + "@h/?tls=false&ca=" + url.QueryEscape(f.CA), "ca= is a TLS setting but tls=false"},
		{"amqp://guest:" + pw + "@h/?tls=yes please", "tls=\"yes please\": want true or false"},
		{"amqps://guest:" + pw + "@h/?type=stream&key=" + url.QueryEscape(f.ClientKey), "cert= and key= go together"},
		{"amqps://guest:" + pw + "@h/?ca=a&ca=b", `rabbitmq: DSN parameter "ca" is given 2 times`},
	}
	reg, err := drivers.Lookup("rabbitmq")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range bad {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.dsn, err, tc.want)
			continue
		}
		for _, e := range []error{err, reg.CheckDSN(tc.dsn)} {
			if e == nil || strings.Contains(e.Error(), pw) || strings.Contains(e.Error(), "\n") {
				t.Errorf("%s: error %q is missing, leaks the password or spans lines", tc.dsn, e)
			}
		}
	}
	if got := drivers.RedactDSN("amqps://guest:" + pw + "@h.rmq.cloudamqp.com/v"); strings.Contains(got, pw) {
		t.Errorf("RedactDSN(amqps://...) = %q leaks the password", got)
	}
}

// TestConformanceQuorumTLS: the quorum conformance suite over amqps://
// through a TLS proxy in front of the machine's plaintext RabbitMQ.
func TestConformanceQuorumTLS(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	f := drivertest.NewTLSFiles(t)
	base := tlsBase(drivertest.TLSProxy(t, f, machineAMQP, false))
	drivertest.RunNoReplay(t, func(t *testing.T) drivers.Driver {
		return openFreshAt(t, base, "&type=quorum"+tlsParams(f.CA, "", ""), drivers.Options{})
	})
}

// roundTrip appends n events and subscribes until it has them all.
func roundTrip(t *testing.T, d drivers.Driver, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := d.Append(ctx, drivertest.Events(n, 2)); err != nil {
		t.Fatalf("append over TLS: %v", err)
	}
	got := 0
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	err := d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
		if got += len(b); got >= n {
			scancel()
		}
		return nil
	})
	if got != n {
		t.Fatalf("subscribe over TLS got %d of %d events (%v)", got, n, err)
	}
}

// TestTLSThroughOptionsDial: the TLS connection is layered on
// Options.Dial (chaos proxies see it), Describe names the mode, dead
// letters travel the same connection, and a cut partition fails appends.
func TestTLSThroughOptionsDial(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	f := drivertest.NewTLSFiles(t)
	var p drivertest.Partition
	d := openFreshAt(t, tlsBase(drivertest.TLSProxy(t, f, machineAMQP, false)), tlsParams(f.CA, "", ""), drivers.Options{Dial: p.Dial})
	roundTrip(t, d, 20)
	if p.Dials() == 0 {
		t.Fatal("the TLS connection was not dialled through Options.Dial")
	}
	if desc := describe(d); !strings.HasSuffix(desc, ", TLS") {
		t.Errorf("Describe() = %q; want it to end in \", TLS\"", desc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := openDLQ(t, d, "run-tls")
	if err := q.Put(ctx, letter("run-tls/projector-0", drivertest.Events(1, 1)[0], time.Now())); err != nil {
		t.Fatalf("dead letter over TLS: %v", err)
	}
	if ls, err := q.Take(ctx); err != nil || len(ls) != 1 {
		t.Fatalf("take dead letters over TLS: %d letters, %v; want 1", len(ls), err)
	}
	p.Cut(true)
	defer p.Cut(false)
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	defer ccancel()
	if _, err := d.Append(cctx, drivertest.Events(1, 1)); err == nil {
		t.Fatal("append over TLS succeeded through a cut partition: the TLS connection bypasses Options.Dial")
	}
}

// TestMutualTLS: a listener that requires a client certificate accepts
// cert=/key= and refuses a client without one, saying to add them.
func TestMutualTLS(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	f := drivertest.NewTLSFiles(t)
	base := tlsBase(drivertest.TLSProxy(t, f, machineAMQP, true))
	d := openFreshAt(t, base, tlsParams(f.CA, f.ClientCert, f.ClientKey), drivers.Options{})
	roundTrip(t, d, 20)
	if desc := describe(d); !strings.HasSuffix(desc, ", TLS with client certificate") {
		t.Errorf("Describe() = %q; want the client-certificate mode", desc)
	}
	err := openErr(t, base+"?queue="+uniqueQueue()+tlsParams(f.CA, "", ""))
	if !strings.Contains(err.Error(), "add cert= and key=") {
		t.Fatalf("mutual TLS without a client certificate: %v; want the hint to add cert= and key=", err)
	}
}

// openErr opens dsn, expecting a one-line error.
func openErr(t *testing.T, dsn string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err == nil {
		d.Close()
		removeAll(t, dsn)
		t.Fatalf("%s: connected; want an error", drivers.RedactDSN(dsn))
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	return err
}

// TestTLSHandshakeErrors: a CA that did not sign the server's certificate,
// and amqps:// to a plaintext port, fail with what to do about it.
func TestTLSHandshakeErrors(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, machineAMQP, false)
	err := openErr(t, tlsBase(proxy)+"?queue="+uniqueQueue()+tlsParams(f.OtherCA, "", ""))
	if strings.Count(err.Error(), "not signed by a CA in ca=") != 1 {
		t.Errorf("ca=OtherCA: %v; want the \"not signed by a CA in ca=\" hint once", err)
	}
	err = openErr(t, "amqps://guest:guest@localhost:"+proxy[strings.LastIndexByte(proxy, ':')+1:]+"/?server_name=wrong.example&queue="+uniqueQueue()+tlsParams(f.CA, "", ""))
	if !strings.Contains(err.Error(), "set server_name=") {
		t.Errorf("server_name=wrong.example: %v; want the server_name hint", err)
	}
	err = openErr(t, "amqps://guest:guest@"+machineAMQP+"/?queue="+uniqueQueue()+tlsParams(f.CA, "", ""))
	if !strings.Contains(err.Error(), "plaintext port") {
		t.Errorf("amqps:// to the plaintext port: %v; want the plaintext-port hint", err)
	}
}

// TestInsecureWarnsOnce: insecure_skip_verify=true connects, is labelled
// loudly in Describe and logged once per Open.
func TestInsecureWarnsOnce(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	f := drivertest.NewTLSFiles(t)
	var logs []string
	opts := drivers.Options{Logf: func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }}
	d := openFreshAt(t, tlsBase(drivertest.TLSProxy(t, f, machineAMQP, false)), "&insecure_skip_verify=true", opts)
	roundTrip(t, d, 5)
	n := 0
	for _, l := range logs {
		if strings.Contains(l, "insecure_skip_verify=true") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("insecure warning logged %d times (%q); want once", n, logs)
	}
	if !strings.Contains(describe(d), "WITHOUT CERTIFICATE VERIFICATION") {
		t.Errorf("Describe() = %q; want the insecure label", describe(d))
	}
}

// describe is the driver's Describe (the harness finds it by assertion).
func describe(d drivers.Driver) string {
	if x, ok := d.(interface{ Describe() string }); ok {
		return x.Describe()
	}
	return ""
}

// streamTLSBase is an amqps:// base whose stream port is the TLS proxy at
// addr (in front of the machine's plaintext stream listener): the stream
// client runs its own handshake, to the DSN's host and stream_port (the
// driver's address resolver ignores what the broker advertises).
func streamTLSBase(t *testing.T, f drivertest.TLSFiles, requireClient bool) (base, params string) {
	t.Helper()
	drivertest.RequireService(t, "rabbitmq stream plugin (rabbitmq-plugins enable rabbitmq_stream)", machineStream)
	addr := drivertest.TLSProxy(t, f, machineStream, requireClient)
	return "amqps://guest:guest@" + machineAMQP + "/", "&type=stream&stream_port=" + addr[strings.LastIndexByte(addr, ':')+1:]
}

// TestConformanceStreamTLS: the full stream conformance suite (replay
// included) over TLS.
func TestConformanceStreamTLS(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	base, params := streamTLSBase(t, f, false)
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return openFreshAt(t, base, params+tlsParams(f.CA, "", ""), drivers.Options{})
	})
}

// TestStreamTLSErrors: mutual TLS with cert=/key= works on a stream and
// fails without them, saying to add them; an unknown CA is explained.
func TestStreamTLSErrors(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	base, params := streamTLSBase(t, f, true)
	d := openFreshAt(t, base, params+tlsParams(f.CA, f.ClientCert, f.ClientKey), drivers.Options{})
	roundTrip(t, d, 20)
	if desc := describe(d); !strings.HasSuffix(desc, ", TLS with client certificate") {
		t.Errorf("Describe() = %q; want the client-certificate mode", desc)
	}
	if err := openErr(t, base+"?queue="+uniqueQueue()+params+tlsParams(f.CA, "", "")); !strings.Contains(err.Error(), "add cert= and key=") {
		t.Errorf("stream mutual TLS without a client certificate: %v; want the hint to add cert= and key=", err)
	}
	err := openErr(t, base+"?queue="+uniqueQueue()+params+tlsParams(f.OtherCA, f.ClientCert, f.ClientKey))
	if strings.Count(err.Error(), "not signed by a CA in ca=") != 1 {
		t.Errorf("stream with ca=OtherCA: %v; want the \"not signed by a CA in ca=\" hint once", err)
	}
	err = openErr(t, base+"?queue="+uniqueQueue()+"&type=stream&stream_port="+machineStream[strings.LastIndexByte(machineStream, ':')+1:]+tlsParams(f.CA, "", ""))
	if !strings.Contains(err.Error(), "plaintext stream port") {
		t.Errorf("stream TLS to the plaintext stream port: %v; want the plaintext-port hint", err)
	}
}
