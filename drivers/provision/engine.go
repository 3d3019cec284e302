package provision

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/testcontainers/testcontainers-go"

	"github.com/evbench/evbench/drivers"
)

// checkEngine pings the Docker engine within engineCheckTimeout. The
// testcontainers lookup can panic (MustExtractDockerHost) or retry for long
// when no engine exists, so the probe runs bounded and recovers.
func checkEngine(ctx context.Context) (err error) {
	ctx, cancel := context.WithTimeout(ctx, engineCheckTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%v", r)
			}
		}()
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			done <- err
			return
		}
		defer p.Close()
		done <- p.Health(ctx)
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		// DOCKER_HOST may carry credentials (tcp://user:pw@host): the
		// message shows it redacted and the engine's error scrubbed of it.
		msg := drivers.Scrub(oneLine(err), os.Getenv("DOCKER_HOST"))
		return fmt.Errorf("%w (%s: %s); start the store yourself and pass --dsn", ErrNoDocker, dockerHostHint(), msg)
	}
	return nil
}

// dockerHostHint names where the engine was looked for, redacted.
func dockerHostHint() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return "DOCKER_HOST=" + drivers.RedactDSN(h)
	}
	return "unix:///var/run/docker.sock"
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
