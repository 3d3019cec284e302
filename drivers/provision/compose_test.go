package provision

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// compose is the subset of docker-compose.yml the test checks.
type compose struct {
	Services map[string]service `yaml:"services"`
}

// service is one compose service, as far as the test checks it.
type service struct {
	Image       string            `yaml:"image"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	NetworkMode string            `yaml:"network_mode"`
	Profiles    []string          `yaml:"profiles"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// TestComposeFile parses the repository's docker-compose.yml and checks
// each store the docs promise is there, on the documented loopback port,
// configured the way the driver docs say (durable Postgres, JetStream,
// KRaft advertising 127.0.0.1, Toxiproxy API).
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml is not valid YAML for compose: %v", err)
	}
	want := map[string]string{ // service -> host port mapping that must exist
		"postgres":      "127.0.0.1:5432:5432",
		"nats":          "127.0.0.1:4222:4222",
		"nats-durable":  "127.0.0.1:4223:4222",
		"kafka":         "127.0.0.1:9092:9092",
		"rabbitmq":      "127.0.0.1:5672:5672",
		"redis":         "127.0.0.1:6379:6379",
		"redis-durable": "127.0.0.1:6380:6379",
		"mosquitto":     "127.0.0.1:1883:1883",
	}
	for name, port := range want {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if s.Image == "" {
			t.Errorf("service %s has no image", name)
		}
		found := false
		for _, p := range s.Ports {
			found = found || p == port
		}
		if !found {
			t.Errorf("service %s: ports %v lack %s", name, s.Ports, port)
		}
	}
	pg := c.Services["postgres"]
	if pg.Environment["POSTGRES_HOST_AUTH_METHOD"] != "trust" || !strings.Contains(strings.Join(pg.Command, " "), "synchronous_commit=on") {
		t.Errorf("postgres: want trust auth and synchronous_commit=on, got env %v command %v", pg.Environment, pg.Command)
	}
	if !strings.Contains(strings.Join(c.Services["nats"].Command, " "), "-js") {
		t.Errorf("nats: JetStream (-js) not enabled: %v", c.Services["nats"].Command)
	}
	if d := c.Services["nats-durable"]; !strings.Contains(strings.Join(d.Entrypoint, " "), "sync_interval: always") || len(d.Profiles) == 0 {
		t.Errorf("nats-durable: want an optional profile with sync_interval: always, got %v %v", d.Profiles, d.Entrypoint)
	}
	k := c.Services["kafka"].Environment
	if k["KAFKA_PROCESS_ROLES"] != "broker,controller" || k["KAFKA_ADVERTISED_LISTENERS"] != "PLAINTEXT://127.0.0.1:9092" {
		t.Errorf("kafka: want single-node KRaft advertising 127.0.0.1:9092, got %v", k)
	}
	// The Kafka settings must match what Start uses for provisioned brokers.
	for key, v := range kafkaEnv("127.0.0.1:9092") {
		if k[key] != v {
			t.Errorf("kafka: compose %s=%q, provision uses %q", key, k[key], v)
		}
	}
	for _, p := range brokerProblems(c) {
		t.Error(p)
	}
	tp, ok := c.Services["toxiproxy"]
	if !ok || tp.NetworkMode != "host" || !strings.Contains(tp.Image, "toxiproxy") {
		t.Errorf("toxiproxy: want the toxiproxy image with host networking (API on 127.0.0.1:8474), got %+v", tp)
	}
}
