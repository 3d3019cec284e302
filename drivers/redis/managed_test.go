package redis

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// managedFake is a RESP server that answers like the managed services do
// at Open: INFO takes at most one section and shows neither persistence
// nor replication (Upstash), CONFIG is an unknown command (Upstash, Redis
// Cloud, ElastiCache). Enough for Open and the durability label, nothing
// more.
func managedFake(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); serveManagedFake(c) }()
		}
	}()
	return ln.Addr().String()
}

func serveManagedFake(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		switch cmd := strings.ToUpper(args[0]); {
		case cmd == "INFO" && len(args) > 2:
			reply = "-ERR wrong number of arguments for 'info' command\r\n"
		case cmd == "INFO":
			body := "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n\r\n# Keyspace\r\n"
			reply = fmt.Sprintf("$%d\r\n%s\r\n", len(body), body)
		case cmd == "CONFIG":
			reply = "-ERR unknown command 'CONFIG', with args beginning with: 'GET'\r\n"
		case cmd == "AUTH" || cmd == "CLIENT" || cmd == "SELECT":
			reply = "+OK\r\n"
		case cmd == "PING":
			reply = "+PONG\r\n"
		default:
			reply = "-ERR the fake answers only what Open asks, not " + cmd + "\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("not an array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("array length %q", line)
	}
	args := make([]string, n)
	for i := range args {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(hdr, "$")))
		if err != nil {
			return nil, fmt.Errorf("bulk length %q", hdr)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

// TestManagedServiceWithoutConfig: over TLS, a server that refuses CONFIG
// and shows no persistence in INFO (as Upstash does) opens, and the label
// says unknown (persistence and replication) instead of failing or
// guessing.
func TestManagedServiceWithoutConfig(t *testing.T) {
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, managedFake(t), false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, "rediss://default:s3cretpw@"+proxy+"?stream=evbench&ca="+f.CA, drivers.Options{})
	if err != nil {
		t.Fatalf("Open on a managed-like server: %v", err)
	}
	defer d.Close()
	if d.server.configErr == nil || !strings.Contains(d.server.configErr.Error(), "unknown command 'CONFIG'") {
		t.Fatalf("CONFIG GET error = %v; want the server's refusal", d.server.configErr)
	}
	dur, err := d.Durability(ctx)
	drivertest.CheckDurability(t, "managed-like redis", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncUnknown || !strings.Contains(dur.Detail, "persistence cannot be read") {
		t.Errorf("label %+v; want unknown, persistence cannot be read", dur)
	}
	if !strings.HasPrefix(dur.Replication, "unknown") {
		t.Errorf("replication %q; want unknown (INFO shows no connected_slaves)", dur.Replication)
	}
	if s := d.Describe(); !strings.Contains(s, "Redis 7.2.4 over TLS, ") || !strings.Contains(s, "persistence unknown") {
		t.Errorf("Describe = %q", s)
	}
}

// startRedisServer starts a throwaway redis-server (the machine's binary)
// with extra arguments on a free port and returns its address; the test
// is skipped without the binary.
func startRedisServer(t *testing.T, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server binary not on PATH; install redis-server to run this test")
	}
	dir := t.TempDir()
	addr := drivertest.ClosedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", dir + "/log"}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(dir + "/log")
			t.Fatalf("redis-server on %s did not start: %v\n%s", addr, err, log)
		}
	}
}

// TestConfigDisabledOverTLS: a real Redis with CONFIG renamed away (as
// ElastiCache and Redis Cloud restrict it) behind TLS: Open works, the
// label comes from INFO (aof_enabled:0 here: false, in memory only) and
// names the refusal as its source, and events still round-trip.
func TestConfigDisabledOverTLS(t *testing.T) {
	addr := startRedisServer(t, "--appendonly", "no", "--rename-command", "CONFIG", "")
	f := drivertest.NewTLSFiles(t)
	proxy := drivertest.TLSProxy(t, f, addr, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, "rediss://"+proxy+"/0?stream=managed&ca="+f.CA, drivers.Options{})
	if err != nil {
		t.Fatalf("Open with CONFIG disabled: %v", err)
	}
	defer d.Close()
	dur, err := d.Durability(ctx)
	drivertest.CheckDurability(t, "CONFIG disabled", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse || !strings.Contains(dur.Source, "CONFIG GET refused") || dur.Replication != "none (single copy)" {
		t.Errorf("label %+v; want false from INFO aof_enabled:0, CONFIG GET refused as source", dur)
	}
	roundTrip(t, d, 10)
}
