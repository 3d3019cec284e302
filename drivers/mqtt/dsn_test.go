package mqtt

import (
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		want    func(Config) bool
		wantErr string
	}{
		{dsn: "mqtt://127.0.0.1:1883", want: func(c Config) bool {
			return c.Addr == "127.0.0.1:1883" && c.Topic == "evbench" && c.QoS == 1 && c.Lanes == 64 && c.Conns == 4 && c.AckTimeout == 10*time.Second && c.Shared == ""
		}},
		{dsn: "mqtt://broker", want: func(c Config) bool { return c.Addr == "broker:1883" }},
		{dsn: "tcp://[::1]:1884/", want: func(c Config) bool { return c.Addr == "[::1]:1884" }},
		{dsn: "mqtt://bob:s3cret@127.0.0.1:1883/?topic=bench/run1&qos=2&shared=g1&lanes=4&conns=2&ack_timeout=3s&broker_config=/etc/m.conf",
			want: func(c Config) bool {
				return c.User == "bob" && c.Password == "s3cret" && c.Topic == "bench/run1" && c.QoS == 2 && c.Shared == "g1" &&
					c.Lanes == 4 && c.Conns == 2 && c.AckTimeout == 3*time.Second && c.BrokerConfig == "/etc/m.conf" && c.filter() == "$share/g1/bench/run1/#"
			}},
		{dsn: "mqtt://127.0.0.1:1883/?topic=a", want: func(c Config) bool { return c.filter() == "a/#" && c.ClientID == "evbench" }},
		{dsn: "mqtt://127.0.0.1:1883/?client_id=thing-7_a", want: func(c Config) bool { return c.ClientID == "thing-7_a" }},
		{dsn: "mqtt://127.0.0.1:1883/?client_id=a/b", wantErr: "a client ID prefix of 1-64 letters"},
		{dsn: "mqtt://127.0.0.1:1883/?client_id=", wantErr: "a client ID prefix of 1-64 letters"},
		{dsn: "mqtt://127.0.0.1:1883/?qos=0", wantErr: "QoS 0 is never acknowledged"},
		{dsn: "mqtt://127.0.0.1:1883/?qos=3", wantErr: "qos=\"3\""},
		{dsn: "mqtt://127.0.0.1:1883/?topic=a/%2B", wantErr: "wildcards"},
		{dsn: "mqtt://127.0.0.1:1883/?topic=$SYS", wantErr: "'$'"},
		{dsn: "mqtt://127.0.0.1:1883/?topic=a//b", wantErr: "empty levels"},
		{dsn: "mqtt://127.0.0.1:1883/?shared=a/b", wantErr: "share group"},
		{dsn: "mqtt://127.0.0.1:1883/?lanes=0", wantErr: "lane count"},
		{dsn: "mqtt://127.0.0.1:1883/?ack_timeout=5", wantErr: "duration"},
		{dsn: "mqtt://127.0.0.1:1883/?conns=0", wantErr: "connection count"},
		{dsn: "mqtt://127.0.0.1:1883/?qos=1&qos=2", wantErr: `mqtt: DSN parameter "qos" is given 2 times; give it once`},
		{dsn: "mqtt://127.0.0.1:1883/?lanes=1025", wantErr: `mqtt: DSN parameter lanes="1025": want a lane count from 1 to 1024`},
		{dsn: "mqtt://127.0.0.1:1883/?stream=x", wantErr: "known: ack_timeout, broker_config, ca, cert, client_id, conns, insecure_skip_verify, key, lanes, qos, server_name, shared, tls, topic"},
		{dsn: "ws://127.0.0.1:8080", wantErr: "not supported"}, // mqtts:// is TLS: tls_dsn_test.go
		{dsn: "nats://127.0.0.1:4222", wantErr: "want mqtt://"},
		{dsn: "mqtt://127.0.0.1:1883/evbench", wantErr: "?topic="},
		{dsn: "mqtt://a:1,b:2", wantErr: "one broker"},
		{dsn: "mqtt://127.0.0.1:99999", wantErr: "port"},
		{dsn: "mqtt:///?topic=x", wantErr: "no broker host"},
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
				t.Fatalf("ParseDSN(%q) = %+v", tc.dsn, c)
			}
		})
	}
}

// TestParseDSNRedactsPassword: no error shows the password.
func TestParseDSNRedactsPassword(t *testing.T) {
	for _, dsn := range []string{
		"mqtt://bob:hunter22@127.0.0.1:1883/path",
		"nats://bob:hunter22@127.0.0.1:1883",
		"mqtt://bob:hunter22@127.0.0.1:1883/?nope=1",
	} {
		_, err := ParseDSN(dsn)
		if err == nil {
			t.Fatalf("ParseDSN(%q) accepted", dsn)
		}
		if strings.Contains(err.Error(), "hunter22") {
			t.Errorf("ParseDSN(%q) error shows the password: %v", dsn, err)
		}
	}
}

func TestTopicForEscapesWildcards(t *testing.T) {
	for _, tc := range []struct {
		key, topic string
		escaped    bool
	}{{"k-1", "p/k-1", false}, {"a/b", "p/a/b", false}, {"a+b#", "p/a_b_", true}} {
		topic, esc := topicFor("p", tc.key)
		if topic != tc.topic || esc != tc.escaped {
			t.Errorf("topicFor(p, %q) = %q, %v; want %q, %v", tc.key, topic, esc, tc.topic, tc.escaped)
		}
	}
}
