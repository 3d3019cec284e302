package supervisor

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore"
)

// refstoreBE runs `evbench refstore serve`.
type refstoreBE struct{ sync string }

func newRefstore(params map[string]string) (backend, error) {
	b := &refstoreBE{sync: "always"}
	for k, v := range params {
		switch k {
		case "sync":
			switch v {
			case "always", "interval", "none":
				b.sync = v
			default:
				return nil, fmt.Errorf("refstore: managed store: sync=%q: want always, interval or none", v)
			}
		default:
			return nil, fmt.Errorf("refstore: managed store: unknown parameter %q (known: sync)", k)
		}
	}
	return b, nil
}

func (b *refstoreBE) prepare(ctx context.Context, s *Store, dir string) error { return nil }

func (b *refstoreBE) command(s *Store) (*exec.Cmd, error) {
	return exec.Command(s.spec.Binary, "refstore", "serve",
		"--addr", "127.0.0.1:"+strconv.Itoa(s.port), "--dir", s.data, "--sync", b.sync), nil
}

func (b *refstoreBE) readyPrefix() string                           { return refstore.ReadyPrefix }
func (b *refstoreBE) waitReady(ctx context.Context, s *Store) error { return nil }
func (b *refstoreBE) gracefulSignal() syscall.Signal                { return syscall.SIGTERM }
func (b *refstoreBE) dsn(port int) string                           { return "refstore://127.0.0.1:" + strconv.Itoa(port) }
func (b *refstoreBE) fsOwner() (int, int, bool)                     { return 0, 0, false }

func (b *refstoreBE) describe(s *Store) string {
	what := map[string]string{
		"always":   "fdatasync before every ack",
		"interval": "ack before fsync, not durable",
		"none":     "no fsync, not durable",
	}[b.sync]
	return fmt.Sprintf("refstore (%s), sync=%s (%s)", s.pidText(), b.sync, what)
}

func (b *refstoreBE) durability() drivers.Durability {
	d := drivers.Durability{Replication: "none (single copy)", Detail: "refstore serve --sync " + b.sync}
	if b.sync == "always" {
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail += ": each commit group is fdatasync'd before its acks"
	} else {
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail += ": acks before fsync"
	}
	return d
}
