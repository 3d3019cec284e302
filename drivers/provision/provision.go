// Package provision starts a throwaway store in Docker (testcontainers-go,
// generic container API) so `evbench run --provision` works on a laptop with
// nothing installed but Docker. It fails within a few seconds, with the fix,
// when no Docker engine is reachable.
package provision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// engineCheckTimeout bounds the Docker engine probe, so a machine without
// Docker fails fast instead of retrying for a minute.
const engineCheckTimeout = 3 * time.Second

// startTimeout bounds pulling and starting a store.
const startTimeout = 3 * time.Minute

// ErrNoDocker is wrapped by Start's error when no Docker engine answers.
var ErrNoDocker = errors.New("provision: no Docker engine reachable")

// spec is how to run one store.
type spec struct {
	image string
	port  string // container port, "5432/tcp"
	env   map[string]string
	cmd   []string
	wait  wait.Strategy
	// fixedHostPort binds the container port to the same free host port
	// (Kafka must advertise the address clients dial).
	fixedHostPort bool
	dsn           func(hostPort string) string
}

// specs maps driver names to containers. Images are pinned by major version.
func specs(hostPort string) map[string]spec {
	return map[string]spec{
		"postgres": {
			image: "postgres:16",
			port:  "5432/tcp",
			env:   map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"},
			// Postgres restarts once after initdb: wait for the second "ready".
			wait: wait.ForLog("database system is ready to accept connections").WithOccurrence(2).WithStartupTimeout(startTimeout),
			dsn: func(hp string) string {
				return "postgres://postgres@" + hp + "/test?sslmode=disable&schema=evbench"
			},
		},
		"nats": {
			image: "nats:2",
			port:  "4222/tcp",
			cmd:   []string{"-js", "-sd", "/data"},
			wait:  wait.ForLog("Server is ready").WithStartupTimeout(startTimeout),
			dsn:   func(hp string) string { return "nats://" + hp + "?stream=EVBENCH" },
		},
		"kafka": {
			image:         "apache/kafka:3.9.1",
			port:          "9092/tcp",
			fixedHostPort: true,
			env:           kafkaEnv(hostPort),
			wait:          wait.ForLog("Kafka Server started").WithStartupTimeout(startTimeout),
			dsn:           func(hp string) string { return "kafka://" + hp + "?topic=evbench" },
		},
	}
}

// kafkaEnv configures a single-node KRaft broker advertising hostPort.
func kafkaEnv(hostPort string) map[string]string {
	return map[string]string{
		"KAFKA_NODE_ID":                                  "1",
		"KAFKA_PROCESS_ROLES":                            "broker,controller",
		"KAFKA_LISTENERS":                                "PLAINTEXT://:9092,CONTROLLER://:9093",
		"KAFKA_ADVERTISED_LISTENERS":                     "PLAINTEXT://" + hostPort,
		"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
	}
}

// Drivers lists the driver names Start can provision.
func Drivers() []string {
	var out []string
	for name := range specs("") {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Start runs a container for driver and returns a DSN for it (on
// 127.0.0.1) and a stop func that removes the container. Unknown drivers
// and a missing Docker engine fail at once with a one-line error.
func Start(ctx context.Context, driver string) (dsn string, stop func() error, err error) {
	if _, ok := specs("")[driver]; !ok {
		return "", nil, fmt.Errorf("provision: cannot provision driver %q (can: %s); start the store yourself and pass --dsn",
			driver, strings.Join(Drivers(), ", "))
	}
	if err := checkEngine(ctx); err != nil {
		return "", nil, err
	}
	hostPort := ""
	free, err := freePort()
	if err != nil {
		return "", nil, fmt.Errorf("provision: %s: pick a host port: %w", driver, err)
	}
	hostPort = "127.0.0.1:" + strconv.Itoa(free)
	s := specs(hostPort)[driver]

	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(s.port),
		testcontainers.WithEnv(s.env),
		testcontainers.WithWaitStrategy(s.wait),
		testcontainers.WithLabels(map[string]string{"org.evbench.provision": driver}),
	}
	if len(s.cmd) > 0 {
		opts = append(opts, testcontainers.WithCmd(s.cmd...))
	}
	if s.fixedHostPort {
		port := network.MustParsePort(s.port)
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{port: {{HostPort: strconv.Itoa(free)}}}
		}))
	}
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, err := testcontainers.Run(sctx, s.image, opts...)
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.Background())
		}
		return "", nil, fmt.Errorf("provision: start %s (%s): %w", driver, s.image, err)
	}
	stop = func() error {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Terminate(tctx); err != nil {
			return fmt.Errorf("provision: stop %s container: %w", driver, err)
		}
		return nil
	}
	if !s.fixedHostPort {
		mapped, err := c.MappedPort(sctx, s.port)
		if err != nil {
			stop()
			return "", nil, fmt.Errorf("provision: %s: mapped port: %w", driver, err)
		}
		hostPort = "127.0.0.1:" + strconv.Itoa(int(mapped.Num()))
	}
	return s.dsn(hostPort), stop, nil
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
