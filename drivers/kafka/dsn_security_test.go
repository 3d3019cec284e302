package kafka

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers/kafka/kafkatest"
)

// TestParseDSNSecurity covers every TLS and SASL parameter: what each
// sets, and the one-line error for each misuse, none quoting a secret.
func TestParseDSNSecurity(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	empty := filepath.Join(dir, "empty-token")
	tokFile := filepath.Join(dir, "token")
	for f, body := range map[string]string{notPEM: "hello", empty: " \n", tokFile: "tok-s3cret\n"} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	q := url.QueryEscape
	ca, cert, key := "ca="+q(pki.CAFile), "cert="+q(pki.CertFile), "key="+q(pki.KeyFile)
	const secret = "s3cret"
	tests := []struct {
		dsn     string
		wantErr string // substring; "" = valid
		check   func(Security) bool
	}{
		// Defaults and what each parameter sets.
		{"kafka://h:1", "", func(s Security) bool { return !s.TLS && s.Mechanism == "" && s.tlsConfig == nil }},
		{"kafka://h:1?tls=true", "", func(s Security) bool { return s.TLS && s.tlsConfig != nil && s.tlsConfig.RootCAs == nil }},
		{"kafka://h:1?tls=false", "", func(s Security) bool { return !s.TLS }},
		{"kafka://h:1?" + ca, "", func(s Security) bool { return s.TLS && s.CAFile == pki.CAFile && s.tlsConfig.RootCAs != nil }},
		{"kafka://h:1?" + cert + "&" + key, "", func(s Security) bool { return s.TLS && len(s.tlsConfig.Certificates) == 1 }},
		{"kafka://h:1?server_name=b.example", "", func(s Security) bool { return s.TLS && s.tlsConfig.ServerName == "b.example" }},
		{"kafka://h:1?insecure_skip_verify=true", "", func(s Security) bool {
			return s.TLS && s.tlsConfig.InsecureSkipVerify && strings.Contains(s.describe(), "WITHOUT CERTIFICATE VERIFICATION") && len(s.warnings()) == 1
		}},
		{"kafka://u:s3cret@h:1?tls=true", "", func(s Security) bool {
			return s.Mechanism == "plain" && s.User == "u" && s.Password == secret && s.describe() == "TLS, SASL PLAIN"
		}},
		{"kafka://u:s3cret@h:1?tls=false", "", func(s Security) bool { return s.Mechanism == "plain" && !s.TLS && len(s.warnings()) == 1 }},
		{"kafka://u:s3cret@h:1?sasl=scram-sha-256&tls=true", "", func(s Security) bool {
			return s.Mechanism == "scram-sha-256" && s.saslMechanism().Name() == "SCRAM-SHA-256"
		}},
		{"kafka://u:s3cret@h:1?sasl=SCRAM-SHA-512&" + ca, "", func(s Security) bool {
			return s.Mechanism == "scram-sha-512" && s.saslMechanism().Name() == "SCRAM-SHA-512"
		}},
		{"kafka://u:s3cret@h:1?sasl=scram-sha-512&tls=false", "", func(s Security) bool { return !s.TLS && len(s.warnings()) == 0 }},
		{"kafka://h:1?tls=true&token=s3cret", "", func(s Security) bool { return s.Mechanism == "oauthbearer" && s.Token == secret }},
		{"kafka://h:1?tls=true&sasl=oauthbearer&token_file=" + q(tokFile), "", func(s Security) bool { return s.TokenFile == tokFile }},
		{"kafka://%24ConnectionString:Endpoint%3Dsb%3A%2F%2Fns.servicebus.windows.net%2F%3BSharedAccessKey%3Ds3cret@ns.servicebus.windows.net:9093?tls=true", "", func(s Security) bool {
			return s.User == "$ConnectionString" && strings.HasPrefix(s.Password, "Endpoint=sb://") && s.Mechanism == "plain"
		}},

		// Misuse.
		{"kafka://h:1?tls=yes", "tls=\"yes\": want true or false", nil},
		{"kafka://h:1?insecure_skip_verify=1x", "want true or false", nil},
		{"kafka://h:1?tls=false&" + ca, "ca= is a TLS setting but tls=false", nil},
		{"kafka://h:1?ca=" + q(missing), "ca=: open " + missing + ": no such file", nil},
		{"kafka://h:1?ca=" + q(notPEM), "holds no PEM certificate", nil},
		{"kafka://h:1?" + cert, "cert= and key= go together", nil},
		{"kafka://h:1?" + key, "cert= and key= go together", nil},
		{"kafka://h:1?cert=" + q(missing) + "&" + key, "cert=: open " + missing, nil},
		{"kafka://h:1?" + cert + "&key=" + q(missing), "key=: open", nil},
		{"kafka://h:1?cert=" + q(pki.CAFile) + "&key=" + q(notPEM), "want a PEM certificate and its matching PEM private key", nil},
		{"kafka://h:1?insecure_skip_verify=true&" + ca, "ignores ca=", nil},
		{"kafka://u:s3cret@h:1", "SASL PLAIN without TLS, which sends the password in clear text: add tls=true", nil},
		{"kafka://u:s3cret@h:1?sasl=scram-sha-256", "SCRAM hides the password, not the session", nil},
		{"kafka://h:1?token=s3cret", "sends the token in clear text", nil},
		{"kafka://u@h:1?tls=true", "a user alone is not enough", nil},
		{"kafka://:s3cret@h:1?tls=true", "a user alone is not enough", nil},
		{"kafka://u:s3cret@h:1?tls=true&sasl=gssapi", `sasl="gssapi" is not supported; supported: plain, scram-sha-256, scram-sha-512, oauthbearer`, nil},
		{"kafka://u:s3cret@h:1?tls=true&sasl=AWS_MSK_IAM", "aws_msk_iam is not supported", nil},
		{"kafka://h:1?tls=true&sasl=", "sasl= is empty", nil},
		{"kafka://h:1?tls=true&sasl=scram-sha-512", "needs credentials in the userinfo", nil},
		{"kafka://u:s3cret@h:1?tls=true&sasl=plain&token=s3cret", "are for sasl=oauthbearer", nil},
		{"kafka://u:s3cret@h:1?tls=true&sasl=oauthbearer&token=s3cret", "not the userinfo", nil},
		{"kafka://h:1?tls=true&sasl=oauthbearer", "needs token=TOKEN or token_file=", nil},
		{"kafka://h:1?tls=true&token=s3cret&token_file=" + q(tokFile), "exclude each other", nil},
		{"kafka://h:1?tls=true&token_file=" + q(missing), "token_file=: open", nil},
		{"kafka://h:1?tls=true&token_file=" + q(empty), "the file is empty", nil},
		{"kafka://h:1?tls=true&sasl_mechanism=plain", "is unknown; known: acks, ca, cert, compression, consumer, delivery_timeout, group, idempotent, insecure_skip_verify, key, linger, partitions, sasl, server_name, tls, token, token_file, topic", nil},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			c, err := ParseDSN(tc.dsn)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !tc.check(c.Security) {
					t.Fatalf("parsed %+v", c.Security)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error leaks a secret or spans lines: %v", err)
			}
		})
	}
}

// TestSecurityNotPrinted: a Config printed whole shows the security label,
// never the password or the token.
func TestSecurityNotPrinted(t *testing.T) {
	for _, dsn := range []string{"kafka://u:pw-s3cret@h:1?tls=true&sasl=scram-sha-512", "kafka://h:1?tls=true&token=tok-s3cret"} {
		c, err := ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(f, c); strings.Contains(out, "s3cret") || !strings.Contains(out, "TLS, SASL") {
				t.Errorf("Sprintf(%q, cfg) = %s", f, out)
			}
		}
	}
}
