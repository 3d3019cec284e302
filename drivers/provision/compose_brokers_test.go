package provision

import (
	"fmt"
	"strings"
	"testing"
)

// brokerProblems checks the issue-16 stores in docker-compose.yml:
// RabbitMQ with the stream plugin, Redis with appendfsync everysec and a
// durable profile with appendfsync always, Mosquitto 2.0 anonymous; each
// with its image, every port bound to 127.0.0.1 only, and a healthcheck.
// It returns one line per problem.
func brokerProblems(c compose) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	images := map[string]string{ // service -> image prefix
		"rabbitmq":      "rabbitmq:3.",
		"redis":         "redis:7",
		"redis-durable": "redis:7",
		"mosquitto":     "eclipse-mosquitto:2.0",
	}
	for name, prefix := range images {
		s := c.Services[name]
		if !strings.HasPrefix(s.Image, prefix) {
			errorf("%s: image %q, want %s*", name, s.Image, prefix)
		}
		if len(s.Ports) == 0 {
			errorf("%s: no ports published", name)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				errorf("%s: port %q is not bound to 127.0.0.1 (anonymous brokers must not listen on every interface)", name, p)
			}
		}
		if len(s.Healthcheck.Test) == 0 {
			errorf("%s: no healthcheck", name)
		}
	}

	rmq := c.Services["rabbitmq"]
	if !strings.Contains(rmq.Image, "management") {
		errorf("rabbitmq: image %q, want a -management image", rmq.Image)
	}
	if !hasPort(rmq.Ports, "127.0.0.1:5552:5552") {
		errorf("rabbitmq: ports %v lack the stream protocol's 127.0.0.1:5552:5552", rmq.Ports)
	}
	if ep := strings.Join(rmq.Entrypoint, " "); !strings.Contains(ep, "rabbitmq-plugins enable --offline rabbitmq_stream") || !strings.Contains(ep, "exec docker-entrypoint.sh rabbitmq-server") {
		errorf("rabbitmq: entrypoint %q must enable rabbitmq_stream before starting the server through the image's entrypoint", ep)
	}
	if !strings.Contains(rmq.Environment["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"], "advertised_host") {
		errorf("rabbitmq: stream advertised_host not set (clients would be sent to the container's hostname): %v", rmq.Environment)
	}
	if hc := strings.Join(rmq.Healthcheck.Test, " "); !strings.Contains(hc, "check_port_connectivity") {
		errorf("rabbitmq: healthcheck %q should check every listener (stream port included)", hc)
	}

	redis := strings.Join(c.Services["redis"].Command, " ")
	if !strings.Contains(redis, "--appendfsync everysec") || len(c.Services["redis"].Profiles) != 0 {
		errorf("redis: want a default service with --appendfsync everysec, got %q profiles %v", redis, c.Services["redis"].Profiles)
	}
	rd := c.Services["redis-durable"]
	cmd := strings.Join(rd.Command, " ")
	if !strings.Contains(cmd, "--appendonly yes") || !strings.Contains(cmd, "--appendfsync always") {
		errorf("redis-durable: command %q, want --appendonly yes --appendfsync always", cmd)
	}
	if len(rd.Profiles) != 1 || rd.Profiles[0] != "durable" {
		errorf("redis-durable: profiles %v, want [durable]", rd.Profiles)
	}

	mq := c.Services["mosquitto"]
	if !hasPort(mq.Ports, "127.0.0.1:1883:1883") || !strings.Contains(strings.Join(mq.Command, " "), "/mosquitto-no-auth.conf") {
		errorf("mosquitto: want 127.0.0.1:1883 and the image's anonymous config, got ports %v command %v", mq.Ports, mq.Command)
	}
	return out
}

func hasPort(ports []string, want string) bool {
	for _, p := range ports {
		if p == want {
			return true
		}
	}
	return false
}

// TestComposeCheckFires: the broker check flags a compose file whose
// durable Redis lost appendfsync always and whose Mosquitto listens on
// every interface.
func TestComposeCheckFires(t *testing.T) {
	c := compose{Services: map[string]service{
		"redis-durable": {Image: "redis:7.2", Ports: []string{"127.0.0.1:6380:6379"}, Command: []string{"redis-server", "--appendfsync", "everysec"}, Profiles: []string{"durable"}},
		"mosquitto":     {Image: "eclipse-mosquitto:2.0", Ports: []string{"1883:1883"}, Command: []string{"mosquitto", "-c", "/mosquitto-no-auth.conf"}},
	}}
	got := strings.Join(brokerProblems(c), "\n")
	for _, want := range []string{"redis-durable: command", `mosquitto: port "1883:1883" is not bound to 127.0.0.1`, "rabbitmq: image"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
