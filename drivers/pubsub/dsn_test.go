package pubsub

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", "")
	cfg, err := ParseDSN("pubsub://my-project/evbench")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Project != "my-project" || cfg.Topic != "evbench" || cfg.Subscriptions != 1 || cfg.SubscriptionPrefix != "evbench-evbench-" || cfg.Emulator || cfg.AckDeadline != 10 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = ParseDSN("pubsub://my-project/evbench?subscriptions=3&subscription_prefix=run1-&endpoint=127.0.0.1:8085&emulator=true&ack_deadline=30")
	if err != nil || cfg.Subscriptions != 3 || cfg.subscriptionID(2) != "run1-2" || !cfg.Emulator || cfg.Endpoint != "127.0.0.1:8085" || cfg.AckDeadline != 30 {
		t.Errorf("all params: %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ dsn, want string }{
		{"pubsub://my-project/evbench?bogus=1", "known: ack_deadline, emulator, endpoint, publish_delay, subscription_prefix, subscriptions"},
		{"pubsub://my-project/evbench?publish_delay=0s", "publish_delay"},
		{"pubsub://my-project/evbench?emulator=true", "emulator=true needs endpoint"},
		{"pubsub://my-project/", "topic"},
		{"pubsub://X/evbench", "project"},
		{"pubsub://bob:s3cret@my-project/evbench", "credentials do not go in the DSN"},
		{"kafka://my-project/evbench", "scheme"},
		{"pubsub://my-project/evbench?subscriptions=0", "subscriptions"},
		{"pubsub://my-project/evbench?endpoint=nohost", "host:port"},
		{"pubsub://my-project/evbench?ack_deadline=5", "ack_deadline"},
		{"pubsub://my-project/evbench?subscriptions=1&subscriptions=2", `pubsub: DSN parameter "subscriptions" is given 2 times; give it once`},
		{"pubsub://my-project/evbench?publish_delay=2s", `pubsub: DSN parameter publish_delay="2s": want a duration from 1us to 1s, e.g. 1ms`},
		{"pubsub://my-project/evbench?emulator=yes", `pubsub: DSN parameter emulator="yes": want true or false`},
	} {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDSN(%q) = %v; want an error containing %q", tc.dsn, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseDSN(%q) leaks the password: %v", tc.dsn, err)
		}
	}
}

// TestEmulatorEnvLabels: PUBSUB_EMULATOR_HOST makes the client talk to an
// emulator, so the run must be labelled emulated too.
func TestEmulatorEnvLabels(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
	cfg, err := ParseDSN("pubsub://my-project/evbench")
	if err != nil || !cfg.Emulator || cfg.Endpoint != "127.0.0.1:8085" {
		t.Errorf("with PUBSUB_EMULATOR_HOST: %+v, %v; want emulator at its address", cfg, err)
	}
}
