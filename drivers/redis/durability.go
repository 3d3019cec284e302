package redis

import (
	"context"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.DurabilityReporter = (*Driver)(nil)

// serverInfo is what Open read about the server's persistence.
type serverInfo struct {
	version string
	// From CONFIG GET (configErr set when the server refuses it, as
	// managed services often do).
	appendonly, appendfsync, save, noFsyncOnRewrite string
	configErr                                       error
	// From INFO persistence / replication, readable on Redis itself;
	// Upstash's INFO has neither section, so both can be missing.
	aofEnabled string // "0", "1", or "" when INFO does not say
	replicas   int    // connected_slaves
	// noReplicaCount is true when INFO has no connected_slaves: the
	// replication label is then unknown, not "single copy".
	noReplicaCount bool
}

// readServerInfo completes INFO's fields with CONFIG GET of the settings
// that decide what a reply means.
func readServerInfo(ctx context.Context, c *goredis.Client, info map[string]string) serverInfo {
	s := serverInfo{version: info["redis_version"], aofEnabled: info["aof_enabled"]}
	n, err := strconv.Atoi(info["connected_slaves"])
	s.replicas, s.noReplicaCount = n, err != nil
	names := []string{"appendonly", "appendfsync", "save", "no-appendfsync-on-rewrite"}
	cmds := make([]*goredis.MapStringStringCmd, len(names))
	_, err = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.ConfigGet(ctx, n)
		}
		return nil
	})
	if err != nil {
		s.configErr = err
		return s
	}
	vals := make([]string, len(names))
	for i, n := range names {
		v, ok := cmds[i].Val()[n]
		if !ok {
			s.configErr = fmt.Errorf("CONFIG GET %s: no such setting", n)
			return s
		}
		vals[i] = v
	}
	s.appendonly, s.appendfsync, s.save, s.noFsyncOnRewrite = vals[0], vals[1], vals[2], vals[3]
	return s
}

// persistence is the settings in one phrase, for Describe.
func (s serverInfo) persistence() string {
	if s.configErr != nil && s.aofEnabled == "" {
		return "persistence unknown (CONFIG GET refused, INFO shows no aof_enabled)"
	}
	if s.configErr != nil {
		return "aof_enabled:" + s.aofEnabled + " (CONFIG GET refused)"
	}
	if s.appendonly != "yes" {
		return fmt.Sprintf("appendonly %s, save %q", s.appendonly, s.save)
	}
	return fmt.Sprintf("appendonly yes, appendfsync %s, save %q", s.appendfsync, s.save)
}

// Durability reports what an acknowledged XADD means on the server, from
// the settings read at Open.
func (d *Driver) Durability(ctx context.Context) (drivers.Durability, error) {
	if d.isClosed() {
		return drivers.Durability{}, errClosed
	}
	return redisDurability(d.server), nil
}

// redisDurability decides the label. Redis replies to a command once it
// ran in memory; before sending replies, each event-loop turn writes the
// AOF buffer (appendonly yes) and, with appendfsync always only, fsyncs
// it. So only "always" (and no-appendfsync-on-rewrite no) is an ack
// after fsync.
func redisDurability(s serverInfo) drivers.Durability {
	d := drivers.Durability{
		Replication: "none (single copy)",
		Source:      "CONFIG GET appendonly, appendfsync, save, no-appendfsync-on-rewrite; INFO replication",
	}
	switch {
	case s.noReplicaCount:
		d.Replication = "unknown (INFO shows no connected_slaves); the ack does not wait for any replica (evbench sends no WAIT)"
	case s.replicas > 0:
		d.Replication = fmt.Sprintf("%d asynchronous replica(s): the ack does not wait for them (evbench sends no WAIT)", s.replicas)
	}
	where := "Redis " + s.version + ": "
	if s.configErr != nil {
		// Managed services (Redis Cloud, ElastiCache, Upstash) refuse
		// CONFIG: the label is read from what INFO still shows, and says
		// unknown rather than guess when INFO does not show it either.
		d.Source = "INFO persistence (aof_enabled), INFO replication; CONFIG GET refused: " + s.configErr.Error()
		switch s.aofEnabled {
		case "0":
			d.AckAfterFsync = drivers.AckAfterFsyncFalse
			d.Detail = where + "AOF off (aof_enabled:0): acks are in memory only; at best RDB snapshots keep what the last one held (as this server reports it; a managed service's own persistence setting is in its console)"
			return d
		case "":
			d.AckAfterFsync = drivers.AckAfterFsyncUnknown
			d.Detail = where + "persistence cannot be read (CONFIG GET refused and INFO shows no aof_enabled, as on managed services); see the provider's persistence setting"
			return d
		}
		d.AckAfterFsync = drivers.AckAfterFsyncUnknown
		d.Detail = where + "AOF on (aof_enabled:" + s.aofEnabled + ") but appendfsync cannot be read; Redis's default everysec acks before fsync"
		return d
	}
	d.AckAfterFsync = drivers.AckAfterFsyncFalse
	switch {
	case s.appendonly != "yes" && s.save == "":
		d.Detail = where + `appendonly no, save "": nothing is kept on disk, acks are in memory only: a restart of Redis loses every event`
	case s.appendonly != "yes":
		d.Detail = where + fmt.Sprintf("appendonly no: acks are in memory only; RDB snapshots (save %q) keep what the last one held: a crash loses everything since", s.save)
	case s.appendfsync == "always" && s.noFsyncOnRewrite == "yes":
		d.Detail = where + "appendonly yes, appendfsync always, but no-appendfsync-on-rewrite yes: while a BGSAVE or BGREWRITEAOF runs, acks are not fsynced"
	case s.appendfsync == "always":
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail = where + "appendonly yes, appendfsync always: every reply follows a write and fsync of the append-only file"
	case s.appendfsync == "everysec":
		d.Detail = where + "appendonly yes, appendfsync everysec: ack after the write to the append-only file (postponed up to 2 s while a background fsync is slow), fsync once a second in the background: a crash of the machine loses about the last 1-2 s of acknowledged events"
	default:
		d.Detail = where + fmt.Sprintf("appendonly yes, appendfsync %s: ack after the write to the append-only file; the OS decides when it reaches the disk (Linux: about 30 s)", s.appendfsync)
	}
	return d
}
