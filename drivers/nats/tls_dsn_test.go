package nats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers/drivertest"
)

// TestParseDSNTLSAndAuth: the TLS and credential parameters are checked
// when the DSN is parsed, with one-line errors that leak no secret.
func TestParseDSNTLSAndAuth(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "u.creds")
	if err := os.WriteFile(creds, []byte("-----BEGIN NATS USER JWT-----\neyJ\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\nSUA\n------END USER NKEY SEED------\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seed, _ := newUserNKey(t)
	tests := []struct {
		dsn     string
		wantErr string // substring; "" = valid
		check   func(Config) bool
	}{
		{"tls://h:1", "", func(c Config) bool { return c.TLS.Enabled && c.TLS.Describe() == "TLS" }},
		{"TLS://h:1/?stream=S", "", func(c Config) bool { return c.TLS.Enabled && c.Stream == "S" }},
		{"nats://h:1?tls=true", "", func(c Config) bool { return c.TLS.Enabled }},
		{"nats://h:1?ca=" + f.CA, "", func(c Config) bool { return c.TLS.Enabled && c.TLS.CAFile == f.CA }},
		{"tls://h:1?ca=" + f.CA + "&cert=" + f.ClientCert + "&key=" + f.ClientKey, "", func(c Config) bool { return c.TLS.Describe() == "TLS with client certificate" }},
		{"nats://h:1", "", func(c Config) bool { return !c.TLS.Enabled && c.clientTLS() == nil }},
		{"nats://h:1?tls=false", "", func(c Config) bool { return !c.TLS.Enabled }},
		{"tls://a:1,b:2?ca=" + f.CA, "", func(c Config) bool { return c.clientTLS().ServerName == "" }}, // nats.go checks each host
		{"tls://a:1?server_name=n", "", func(c Config) bool { return c.clientTLS().ServerName == "n" }},
		{"nats://tok3n@h:1", "", func(c Config) bool { return c.Token == "tok3n" && c.User == "" && c.Password == "" }},
		{"nats://u:@h:1", "", func(c Config) bool { return c.User == "u" && c.Password == "" && c.Token == "" }},
		{"tls://h:1?creds=" + creds, "", func(c Config) bool { return c.CredsFile == creds && c.TLS.Enabled }},
		{"nats://h:1?nkey=" + seed, "", func(c Config) bool { return c.NKeyFile == seed }},
		{"tls://h:1?tls=false", "tls=false contradicts the DSN's TLS scheme", nil},
		{"nats://h:1?tls=false&ca=" + f.CA, "ca= is a TLS setting but tls=false", nil},
		{"nats://h:1?tls=yes please", `tls="yes please": want true or false`, nil},
		{"tls://h:1?ca=" + filepath.Join(dir, "missing.pem"), "nats: DSN parameter ca=: open", nil},
		{"tls://h:1?ca=" + junk, "holds no PEM certificate", nil},
		{"tls://h:1?cert=" + f.ClientCert, "cert= and key= go together", nil},
		{"tls://h:1?insecure_skip_verify=true&ca=" + f.CA, "ignores ca=", nil},
		{"nats://h:1?creds=" + filepath.Join(dir, "missing.creds"), "nats: DSN parameter creds=: open", nil},
		{"nats://h:1?creds=" + junk, "holds no user JWT and NKey seed", nil},
		{"nats://h:1?nkey=" + junk, "nats: DSN parameter nkey=", nil},
		{"nats://bob:s3cret@h:1?creds=" + creds, "user:password@ and creds=; authenticate one way only", nil},
		{"nats://h:1?creds=" + creds + "&nkey=" + seed, "creds= and nkey=", nil},
		{"tls://bob:s3cret@h?stream=x", "host:port", nil},
		{"tls://s3cret@h?stream=x", "host:port", nil},
		{"tls://s3cret@h:1?strem=x", "known: ack_timeout, ca, cert, consumer, creds,", nil},
		{"http://bob:s3cret@h:1", "or tls://host:port for TLS", nil},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			c, err := ParseDSN(tc.dsn)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !tc.check(c) {
					t.Fatalf("parsed %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestRedactDSNTLS(t *testing.T) {
	for in, want := range map[string]string{
		"tls://tok3n@h:4222/?stream=S": "tls://xxxxx@h:4222/?stream=S",
		"TLS://u:pw@a:1,b:2":           "TLS://u:xxxxx@a:1,b:2",
		"tls://h:1?ca=/etc/ca.pem":     "tls://h:1?ca=/etc/ca.pem",
		"nats://tok3n@h:1":             "nats://xxxxx@h:1",
		"tls://u:pw@[::1":              "tls://xxxxx@[::1",
		"tls://h:1?nkey=/etc/u.nk&x=1": "tls://h:1?nkey=xxxxx&x=1",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
