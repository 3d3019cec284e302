package redis

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestDurabilityLabel(t *testing.T) {
	base := serverInfo{version: "7.0.15", appendonly: "yes", save: "", noFsyncOnRewrite: "no", aofEnabled: "1"}
	for _, tc := range []struct {
		name   string
		edit   func(s *serverInfo)
		ack    string
		detail string
	}{
		{"machine: nothing on disk", func(s *serverInfo) { s.appendonly, s.appendfsync, s.aofEnabled = "no", "everysec", "0" }, drivers.AckAfterFsyncFalse, "in memory only: a restart of Redis loses every event"},
		{"rdb only", func(s *serverInfo) { s.appendonly, s.save = "no", "3600 1 300 100" }, drivers.AckAfterFsyncFalse, `RDB snapshots (save "3600 1 300 100")`},
		{"always", func(s *serverInfo) { s.appendfsync = "always" }, drivers.AckAfterFsyncTrue, "every reply follows a write and fsync"},
		{"always but not during rewrites", func(s *serverInfo) { s.appendfsync, s.noFsyncOnRewrite = "always", "yes" }, drivers.AckAfterFsyncFalse, "no-appendfsync-on-rewrite yes"},
		{"everysec", func(s *serverInfo) { s.appendfsync = "everysec" }, drivers.AckAfterFsyncFalse, "fsync once a second"},
		{"no", func(s *serverInfo) { s.appendfsync = "no" }, drivers.AckAfterFsyncFalse, "the OS decides"},
		{"config refused, aof off", func(s *serverInfo) { s.configErr, s.aofEnabled = errors.New("ERR unknown command 'CONFIG'"), "0" }, drivers.AckAfterFsyncFalse, "in memory only"},
		{"config refused, aof on", func(s *serverInfo) { s.configErr = errors.New("ERR unknown command 'CONFIG'") }, drivers.AckAfterFsyncUnknown, "cannot be read"},
		{"config refused, no aof_enabled (Upstash)", func(s *serverInfo) { s.configErr, s.aofEnabled = errors.New("ERR unknown command 'CONFIG'"), "" }, drivers.AckAfterFsyncUnknown, "persistence cannot be read"},
		{"config empty, no aof_enabled", func(s *serverInfo) {
			s.configErr, s.aofEnabled = errors.New("CONFIG GET appendonly: no such setting"), ""
		}, drivers.AckAfterFsyncUnknown, "persistence cannot be read"},
	} {
		s := base
		tc.edit(&s)
		d := redisDurability(s)
		if d.AckAfterFsync != tc.ack || !strings.Contains(d.Detail, tc.detail) || d.Source == "" {
			t.Errorf("%s: %+v; want ack %s and detail containing %q", tc.name, d, tc.ack, tc.detail)
		}
		if d.Replication != "none (single copy)" {
			t.Errorf("%s: replication %q", tc.name, d.Replication)
		}
	}
	s := base
	s.replicas = 2
	if r := redisDurability(s).Replication; !strings.Contains(r, "2 asynchronous replica(s)") {
		t.Errorf("2 replicas: replication %q", r)
	}
	s = base
	s.noReplicaCount = true
	if r := redisDurability(s).Replication; !strings.HasPrefix(r, "unknown (INFO shows no connected_slaves)") {
		t.Errorf("no connected_slaves in INFO: replication %q, want unknown", r)
	}
	for _, tc := range []struct {
		edit func(s *serverInfo)
		want string
	}{
		{func(s *serverInfo) {}, "appendonly yes"},
		{func(s *serverInfo) { s.configErr = errors.New("refused") }, "aof_enabled:1 (CONFIG GET refused)"},
		{func(s *serverInfo) { s.configErr, s.aofEnabled = errors.New("refused"), "" }, "persistence unknown"},
	} {
		s := base
		tc.edit(&s)
		if got := s.persistence(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("persistence() = %q, want %q", got, tc.want)
		}
	}
}

// TestDurabilityAppendfsyncAlways starts a throwaway redis-server (the
// machine's binary) with appendonly yes and appendfsync always, as the
// compose profile durable runs, and checks the label reads true there.
func TestDurabilityAppendfsyncAlways(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server binary not on PATH; install redis-server to run this test")
	}
	dir := t.TempDir()
	addr := drivertest.ClosedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--logfile", dir+"/log")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(dir + "/log")
			t.Fatalf("redis-server on %s did not start: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d, err := Open(context.Background(), "redis://"+addr+"/0?stream=durable", drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Append(context.Background(), drivertest.Events(10, 2)); err != nil {
		t.Fatal(err)
	}
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "appendfsync always", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncTrue {
		t.Errorf("appendonly yes + appendfsync always: label %+v, want true", dur)
	}
}
