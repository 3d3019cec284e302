package redis

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestParseDSNTLS: rediss:// and tls=true (or any TLS setting) turn TLS on,
// the files are read at parse time, and CheckDSN refuses the same mistakes
// with the same one-line errors before anything connects.
func TestParseDSNTLS(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	for _, tc := range []struct {
		dsn      string
		enabled  bool
		describe string
	}{
		{"redis://127.0.0.1:6379", false, "plaintext"},
		{"rediss://127.0.0.1:6379", true, "TLS"},
		{"redis://127.0.0.1:6379?tls=true", true, "TLS"},
		{"rediss://127.0.0.1:6379?tls=true", true, "TLS"},
		{"redis://127.0.0.1:6379?tls=false", false, "plaintext"},
		{"redis://127.0.0.1:6379?ca=" + f.CA, true, "TLS"},
		{"rediss://127.0.0.1:6379?ca=" + f.CA + "&cert=" + f.ClientCert + "&key=" + f.ClientKey, true, "TLS with client certificate"},
		{"rediss://127.0.0.1:6379?server_name=cache.example.com", true, "TLS"},
		{"rediss://127.0.0.1:6379?insecure_skip_verify=true", true, "TLS WITHOUT CERTIFICATE VERIFICATION"},
	} {
		c, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tc.dsn, err)
			continue
		}
		if c.TLS.Enabled != tc.enabled || !strings.HasPrefix(c.TLS.Describe(), tc.describe) {
			t.Errorf("ParseDSN(%q): TLS enabled=%v %q; want %v %q", tc.dsn, c.TLS.Enabled, c.TLS.Describe(), tc.enabled, tc.describe)
		}
	}
	c, _ := ParseDSN("rediss://127.0.0.1:6379?server_name=cache.example.com")
	if tc := c.TLS.ClientConfig(c.Addr); tc == nil || tc.ServerName != "cache.example.com" {
		t.Errorf("server_name=cache.example.com: client config %+v", tc)
	}

	missing := filepath.Join(t.TempDir(), "nope.pem")
	reg, err := drivers.Lookup("redis")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dsn, want string }{
		{"rediss://:hunter22@127.0.0.1:6379?ca=" + missing, "redis: DSN parameter ca=: open " + missing},
		{"rediss://127.0.0.1:6379?ca=" + f.ClientKey, "holds no PEM certificate"},
		{"rediss://127.0.0.1:6379?cert=" + f.ClientCert, "redis: DSN parameters cert= and key= go together"},
		{"rediss://127.0.0.1:6379?key=" + f.ClientKey, "cert= and key= go together"},
		{"rediss://127.0.0.1:6379?cert=" + f.ClientCert + "&key=" + f.ServerKey, "want a PEM certificate and its matching PEM private key"},
		{"rediss://:hunter22@127.0.0.1:6379?tls=false", "redis: DSN parameter tls=false contradicts the DSN's TLS scheme"},
		{"redis://127.0.0.1:6379?tls=false&ca=" + f.CA, "is a TLS setting but tls=false"},
		{"redis://127.0.0.1:6379?tls=maybe", `tls="maybe": want true or false`},
		{"rediss://127.0.0.1:6379?insecure_skip_verify=true&ca=" + f.CA, "ignores ca= and server_name="},
		{"rediss://127.0.0.1:6379?tls=true&tls=true", `"tls" is given 2 times`},
		{"rediss://127.0.0.1:6379?cafile=x", `parameter "cafile" is unknown; known: ca, cert,`},
	} {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDSN(%q) error = %v, want it to contain %q", tc.dsn, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter22") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("ParseDSN(%q) error is not one line without the password: %v", tc.dsn, err)
		}
		if cerr := reg.CheckDSN(tc.dsn); cerr == nil || err == nil || cerr.Error() != err.Error() {
			t.Errorf("CheckDSN(%q) = %v; want ParseDSN's error %v", tc.dsn, cerr, err)
		}
	}
}

// TestRedactRediss: a rediss:// DSN's password is hidden like redis://'s.
func TestRedactRediss(t *testing.T) {
	for _, dsn := range []string{
		"rediss://default:hunter22pw@redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com:12345/?stream=evbench",
		"rediss://:hunter22pw@master.evb.abc123.use1.cache.amazonaws.com:6379?ca=/etc/ca.pem",
	} {
		got := drivers.RedactDSN(dsn)
		if strings.Contains(got, "hunter22pw") || !strings.HasPrefix(got, "rediss://") {
			t.Errorf("RedactDSN(%q) = %q", dsn, got)
		}
	}
}
