package supervisor

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/evbench/evbench/drivers"
)

// natsReadyPrefix must match cmd/evbench/nats_cmd.go.
const natsReadyPrefix = "nats: listening on "

// natsBE runs `evbench nats serve` (the nats-server library linked into
// evbench).
type natsBE struct {
	sync    string
	version string // from the readiness line
}

func newNats(params map[string]string) (backend, error) {
	b := &natsBE{sync: "default"}
	for k, v := range params {
		switch k {
		case "sync":
			switch v {
			case "default", "always":
				b.sync = v
			default:
				return nil, fmt.Errorf("nats: managed store: sync=%q: want default (fsync every 2m) or always", v)
			}
		default:
			return nil, fmt.Errorf("nats: managed store: unknown parameter %q (known: sync)", k)
		}
	}
	return b, nil
}

func (b *natsBE) prepare(ctx context.Context, s *Store, dir string) error { return nil }

func (b *natsBE) command(s *Store) (*exec.Cmd, error) {
	return exec.Command(s.spec.Binary, "nats", "serve",
		"--addr", "127.0.0.1:"+strconv.Itoa(s.port), "--dir", s.data, "--sync", b.sync), nil
}

func (b *natsBE) readyPrefix() string                           { return natsReadyPrefix }
func (b *natsBE) waitReady(ctx context.Context, s *Store) error { return nil }
func (b *natsBE) gracefulSignal() syscall.Signal                { return syscall.SIGTERM }
func (b *natsBE) dsn(port int) string                           { return "nats://127.0.0.1:" + strconv.Itoa(port) }
func (b *natsBE) fsOwner() (int, int, bool)                     { return 0, 0, false }

func (b *natsBE) describe(s *Store) string {
	v := "2.x"
	if c := s.cur.Load(); c != nil {
		if line := c.tail.readyLine(); line != "" {
			for _, f := range strings.Fields(line) {
				if after, ok := strings.CutPrefix(f, "version="); ok {
					v = after
				}
			}
		}
	}
	mode := "sync default (PubAck before fsync, fsync every 2m)"
	if b.sync == "always" {
		mode = "sync always (fsync before every PubAck)"
	}
	return fmt.Sprintf("nats-server %s (%s), JetStream file storage, %s", v, s.pidText(), mode)
}

func (b *natsBE) durability() drivers.Durability {
	if b.sync == "always" {
		return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncTrue, Replication: "none (single copy)",
			Detail: "nats-server SyncAlways: fsync before every PubAck"}
	}
	return drivers.Durability{AckAfterFsync: drivers.AckAfterFsyncFalse, Replication: "none (single copy)",
		Detail: "nats-server default sync: PubAck after the file-store write, fsync every 2m"}
}
