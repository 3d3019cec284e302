package provision

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// dockerReachable reports whether a Docker socket answers at all.
func dockerReachable() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true // let the real check decide
	}
	c, err := net.DialTimeout("unix", "/var/run/docker.sock", 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestNoDockerFailsFast(t *testing.T) {
	if dockerReachable() {
		t.Skip("a Docker engine is reachable here; this test covers machines without one")
	}
	for _, driver := range Drivers() {
		start := time.Now()
		dsn, stop, err := Start(context.Background(), driver)
		took := time.Since(start)
		if err == nil {
			stop()
			t.Fatalf("Start(%s) = %q without Docker", driver, dsn)
		}
		t.Logf("%s: %v (%s)", driver, err, took.Round(time.Millisecond))
		if !errors.Is(err, ErrNoDocker) {
			t.Errorf("Start(%s): error does not wrap ErrNoDocker: %v", driver, err)
		}
		for _, want := range []string{"provision: no Docker engine reachable (", "start the store yourself and pass --dsn"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
		if took > 5*time.Second {
			t.Errorf("Start(%s) took %s to fail, want a few seconds", driver, took)
		}
	}
}

func TestUnknownDriver(t *testing.T) {
	_, _, err := Start(context.Background(), "refstore")
	if err == nil || !strings.Contains(err.Error(), `"refstore"`) || !strings.Contains(err.Error(), "kafka, nats, postgres") {
		t.Fatalf("Start(refstore) error = %v", err)
	}
}

func TestSpecsComplete(t *testing.T) {
	for name, s := range specs("127.0.0.1:1234") {
		if s.image == "" || s.port == "" || s.wait == nil || s.dsn == nil {
			t.Errorf("%s: incomplete spec", name)
		}
		if dsn := s.dsn("127.0.0.1:1234"); !strings.HasPrefix(dsn, name+"://") || !strings.Contains(dsn, "127.0.0.1:1234") {
			t.Errorf("%s: DSN %q does not address 127.0.0.1:1234 with scheme %s", name, dsn, name)
		}
	}
	if got := kafkaEnv("127.0.0.1:1234")["KAFKA_ADVERTISED_LISTENERS"]; got != "PLAINTEXT://127.0.0.1:1234" {
		t.Errorf("kafka advertises %q", got)
	}
}
