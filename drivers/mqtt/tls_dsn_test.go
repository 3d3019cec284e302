package mqtt

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestParseDSNTLS covers the TLS forms of the DSN: the scheme or tls=true
// turn TLS on (default port 8883), the files are checked at parse time,
// and contradictions are one-line errors before anything connects.
func TestParseDSNTLS(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	tests := []struct {
		dsn     string
		want    func(Config) bool
		wantErr string
	}{
		{dsn: "mqtt://h", want: func(c Config) bool { return c.Addr == "h:1883" && !c.TLS.Enabled && c.TLS.Describe() == "plaintext" }},
		{dsn: "mqtts://h", want: func(c Config) bool { return c.Addr == "h:8883" && c.TLS.Enabled && c.TLS.Describe() == "TLS" }},
		{dsn: "ssl://h:8884", want: func(c Config) bool { return c.Addr == "h:8884" && c.TLS.Enabled }},
		{dsn: "mqtt://h?tls=true", want: func(c Config) bool { return c.Addr == "h:8883" && c.TLS.Enabled }},
		{dsn: "mqtt://h:1883?tls=true", want: func(c Config) bool { return c.Addr == "h:1883" && c.TLS.Enabled }},
		{dsn: "mqtt://h?tls=false", want: func(c Config) bool { return c.Addr == "h:1883" && !c.TLS.Enabled }},
		{dsn: "mqtt://h?ca=" + f.CA, want: func(c Config) bool { return c.Addr == "h:8883" && c.TLS.Enabled && c.TLS.CAFile == f.CA }},
		{dsn: "mqtts://bob:s3cret@b.example/?topic=evbench&ca=" + f.CA + "&cert=" + f.ClientCert + "&key=" + f.ClientKey + "&server_name=broker.example",
			want: func(c Config) bool {
				return c.User == "bob" && c.Password == "s3cret" && c.Addr == "b.example:8883" && c.Topic == "evbench" &&
					c.TLS.Describe() == "TLS with client certificate" && c.TLS.ClientConfig(c.Addr).ServerName == "broker.example"
			}},
		{dsn: "mqtts://h?insecure_skip_verify=true", want: func(c Config) bool {
			return strings.Contains(c.TLS.Describe(), "WITHOUT CERTIFICATE VERIFICATION") && strings.HasPrefix(c.TLS.Warning(), "mqtt: WARNING")
		}},
		{dsn: "mqtts://h?ca=" + missing, wantErr: "mqtt: DSN parameter ca=: open " + missing},
		{dsn: "mqtts://h?ca=" + f.ClientKey, wantErr: "holds no PEM certificate"},
		{dsn: "mqtts://h?cert=" + f.ClientCert, wantErr: "mqtt: DSN parameters cert= and key= go together"},
		{dsn: "mqtts://h?cert=" + missing + "&key=" + f.ClientKey, wantErr: "mqtt: DSN parameter cert=: open"},
		{dsn: "mqtts://h?tls=false", wantErr: "mqtt: DSN parameter tls=false contradicts the DSN's TLS scheme"},
		{dsn: "ssl://h?tls=false", wantErr: "contradicts the DSN's TLS scheme"},
		{dsn: "mqtt://h?tls=false&ca=" + f.CA, wantErr: "ca= is a TLS setting but tls=false"},
		{dsn: "mqtts://h?tls=yes", wantErr: `mqtt: DSN parameter tls="yes": want true or false`},
		{dsn: "mqtts://h?insecure_skip_verify=true&ca=" + f.CA, wantErr: "ignores ca= and server_name="},
		{dsn: "mqtts://h?ca=a&ca=b", wantErr: `mqtt: DSN parameter "ca" is given 2 times; give it once`},
		{dsn: "mqtts://h?cafile=x", wantErr: "known: ack_timeout, broker_config, ca, cert, client_id, conns, insecure_skip_verify, key, lanes, qos, server_name, shared, tls, topic"},
		{dsn: "mqtts://h:0", wantErr: "port"},
		{dsn: "tls://h:8883", wantErr: "mqtts://host:8883"},
		{dsn: "wss://h:8884", wantErr: "websockets are not implemented"},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			c, err := ParseDSN(tc.dsn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDSN(%q) = %v, want an error containing %q", tc.dsn, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDSN(%q): %v", tc.dsn, err)
			}
			if !tc.want(c) {
				t.Fatalf("ParseDSN(%q) = Addr %s, TLS %s", tc.dsn, c.Addr, c.TLS.Describe())
			}
		})
	}
}

// TestTLSDSNRedacted: the password of an mqtts:// DSN is masked like any
// other, in RedactDSN and in CheckDSN's errors.
func TestTLSDSNRedacted(t *testing.T) {
	dsn := "mqtts://bob:hunter22@b.example.s1.eu.hivemq.cloud:8883/?topic=evbench"
	if got, want := drivers.RedactDSN(dsn), "mqtts://bob:xxxxx@b.example.s1.eu.hivemq.cloud:8883/?topic=evbench"; got != want {
		t.Fatalf("RedactDSN = %q, want %q", got, want)
	}
	r, err := drivers.Lookup("mqtt")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{dsn + "&nope=1", "mqtts://bob:hunter22@h/path", "ssl://bob:hunter22@h?tls=false", "mqtts://bob:hunter22@h?cert=x"} {
		err := r.CheckDSN(bad)
		if err == nil {
			t.Fatalf("CheckDSN(%q) accepted", bad)
		}
		if strings.Contains(err.Error(), "hunter22") {
			t.Errorf("CheckDSN(%q) shows the password: %v", bad, err)
		}
	}
}
