package kafka

import (
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		wantErr string // substring; "" = valid
		check   func(Config) bool
	}{
		{"kafka://127.0.0.1:9092", "", func(c Config) bool {
			return len(c.Brokers) == 1 && c.Topic == "evbench" && c.Partitions == 12 && c.Acks == "all" && c.Idempotent &&
				c.Consumer == "direct" && c.Group == "evbench" && c.Compression == "none" && c.Linger == 0 && c.DeliveryTimeout == 5*time.Second
		}},
		{"kafka://a:1,b:2?topic=t&partitions=3&acks=all&idempotent=false&consumer=group&group=g&compression=zstd&linger=5ms&delivery_timeout=10s", "", func(c Config) bool {
			return len(c.Brokers) == 2 && c.Topic == "t" && c.Partitions == 3 && !c.Idempotent && c.Consumer == "group" &&
				c.Group == "g" && c.Compression == "zstd" && c.Linger == 5*time.Millisecond && c.DeliveryTimeout == 10*time.Second
		}},
		{"kafka://h:1?acks=leader", "", func(c Config) bool { return c.Acks == "leader" && !c.Idempotent }},
		{"kafka://h:1?acks=leader&idempotent=true", "needs acks=all", nil},
		{"kafka://h:1?topik=x", "known: acks, ca, cert, compression", nil},
		{"nats://h:1", "scheme", nil},
		{"kfake://", "leave the DSN empty", nil},
		{"kafka://h", "host:port", nil},
		{"kafka://", "no broker", nil},
		{"kafka://h:1/topic", "?topic=", nil},
		{"kafka://h:1?partitions=0", ">= 1", nil},
		{"kafka://h:1?acks=2", "all, leader or none", nil},
		{"kafka://h:1?idempotent=yes", "true or false", nil},
		{"kafka://h:1?consumer=share", "direct or group", nil},
		{"kafka://h:1?compression=gzip", "snappy", nil},
		{"kafka://h:1?linger=5", "unit", nil},
		{"kafka://h:1?delivery_timeout=10ms", "at least 100ms", nil},
		{"kafka://h:1?delivery_timeout=-1s", `kafka: DSN parameter delivery_timeout="-1s": want a duration with a unit, e.g. 0ms, 5ms or 5s`, nil},
		{"kafka://h:1?partitions=3000000000", `kafka: DSN parameter partitions="3000000000": want a whole number >= 1`, nil},
		{"kafka://h:1?compression=gzip", `kafka: DSN parameter compression="gzip": want none, snappy, lz4 or zstd`, nil},
		{"kafka://h:1?tls=true&token=abc&token=s3cret", `kafka: DSN parameter "token" is given 2 times; give it once`, nil}, // values unshown: one may be a secret
		{"kafka://h:1?topic=a%20b", "topic name", nil},
		{"kafka://u:s3cret@h:1", "SASL PLAIN without TLS", nil}, // more in dsn_security_test.go
		{"kafka://u:s3cret@h", "host:port", nil},
		{"kafka://u@h:1", "a user alone is not enough", nil},
		{"kafka://u:s3cret@[::1", `"kafka://xxxxx@[::1": missing ']'`, nil},
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
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// FuzzParseDSN: any input yields a config or an error, never a panic, and
// a valid config always has a broker and a topic.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"kafka://127.0.0.1:9092?topic=evbench", "kafka://a:1,b:2?partitions=3&acks=leader", "kafka://%zz", "kfake://", "", "kafka://u:p@h:1?tls=true&sasl=scram-sha-512&server_name=x", "kafka://h:1?token=t&tls=false"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		c, err := ParseDSN(dsn)
		if err == nil && (len(c.Brokers) == 0 || c.Topic == "" || c.Partitions < 1) {
			t.Fatalf("ParseDSN(%q) accepted an incomplete config %+v", dsn, c)
		}
	})
}
