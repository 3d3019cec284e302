package rabbitmq

import (
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn  string
		want func(Config) bool
	}{
		{"amqp://127.0.0.1", func(c Config) bool {
			return c.Addr == "127.0.0.1:5672" && c.User == "guest" && c.VHost == "/" && c.Queue == "evbench" && c.Type == TypeQuorum &&
				c.StreamPort == 5552 && c.Prefetch == 1000 && c.Subscribers == 1 && c.DeadLetter && c.ConfirmTimeout == 10*time.Second && c.Linger == 5*time.Millisecond
		}},
		{"amqp://u:p@h:5673/v1?queue=q&type=stream&stream_port=5553", func(c Config) bool {
			return c.Addr == "h:5673" && c.User == "u" && c.Password == "p" && c.VHost == "v1" && c.Queue == "q" && c.Type == TypeStream && c.streamAddr() == "h:5553"
		}},
		{"amqp://h/?type=classic&prefetch=10&subscribers=3&dead_letter=false&confirm_timeout=2s&max_in_flight=5", func(c Config) bool {
			return c.Type == TypeClassic && c.Prefetch == 10 && c.Subscribers == 3 && !c.DeadLetter && c.ConfirmTimeout == 2*time.Second && c.MaxInFlight == 5 && c.queueName(2) == "evbench.2"
		}},
	}
	for _, tc := range cases {
		c, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if !tc.want(c) {
			t.Errorf("%s: parsed %+v", tc.dsn, c)
		}
	}
}

// TestParseDSNErrors: one line naming the parameter and what it wants;
// the password never appears (every error, also through the registry).
func TestParseDSNErrors(t *testing.T) {
	const pw = "hunter2secret"
	cases := []struct{ dsn, want string }{
		{"http://guest:" + pw + "@h/", "want amqp:// or amqps://"},
		{"amqp://guest:" + pw + "@h/?qeueu=x", "known: ca, cert, confirm_timeout, dead_letter, insecure_skip_verify, key, linger, max_in_flight, prefetch, queue, server_name, stream_port, subscribers, tls, type"},
		{"amqp://guest:" + pw + "@h/?type=lavinmq", "quorum, classic or stream"},
		{"amqp://guest:" + pw + "@h/?stream_port=0", "from 1 to 65535"},
		{"amqp://guest:" + pw + "@h/?subscribers=x", "from 1 to 64"},
		{"amqp://guest:" + pw + "@h/?dead_letter=maybe", "true or false"},
		{"amqp://guest:" + pw + "@h/?confirm_timeout=5", "positive duration"},
		{"amqp://guest:" + pw + "@h/?linger=2s", "from 0 to 1s"},
		{"amqp://guest:" + pw + "@h/?queue=a&queue=b", `rabbitmq: DSN parameter "queue" is given 2 times; give it once`},
		{"amqp://guest:" + pw + "@h/?max_in_flight=0", `rabbitmq: DSN parameter max_in_flight="0": want a whole number from 1 to 1048576`},
		{"amqp://guest:" + pw + "@h/?type=Quorum", `rabbitmq: DSN parameter type="Quorum": want quorum, classic or stream`},
		{"amqp://guest:" + pw + "@h/?queue=a%20b", "without spaces"},
		{"amqp://guest:" + pw + "@[::1/", "rabbitmq: DSN"},
		{"amqp:///?queue=x", "no host"},
	}
	reg, err := drivers.Lookup("rabbitmq")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.dsn, err, tc.want)
			continue
		}
		for _, e := range []error{err, reg.CheckDSN(tc.dsn)} {
			if strings.Contains(e.Error(), pw) || strings.Contains(e.Error(), "\n") {
				t.Errorf("%s: error %q leaks the password or spans lines", tc.dsn, e)
			}
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, ev := range append(drivertestEdge(), drivers.Event{Key: "k", Payload: []byte("x")}) {
		b, err := encode(&ev, 42)
		if err != nil {
			t.Fatal(err)
		}
		got, off, err := decode(b)
		if err != nil || off != 42 || got.ID != ev.ID || got.Key != ev.Key || got.Seq != ev.Seq || got.Type != ev.Type ||
			got.CreatedAt != ev.CreatedAt || string(got.Payload) != string(ev.Payload) {
			t.Errorf("round trip of %+v: %+v off=%d err=%v", ev, got, off, err)
		}
	}
	if _, _, err := decode([]byte("hello, not ours")); err == nil {
		t.Error("decode accepted a foreign body")
	}
}

func TestCheckConsumers(t *testing.T) {
	if err := CheckConsumers("amqp://h/?type=quorum", 1); err != nil {
		t.Errorf("1 projector on 1 queue: %v", err)
	}
	if err := CheckConsumers("amqp://h/?type=quorum", 2); err == nil || !strings.Contains(err.Error(), "subscribers=2") {
		t.Errorf("2 projectors on 1 queue: %v; want a refusal naming subscribers=2", err)
	}
	if err := CheckConsumers("amqp://h/?type=stream", 5); err != nil {
		t.Errorf("5 projectors on a stream: %v", err)
	}
}
