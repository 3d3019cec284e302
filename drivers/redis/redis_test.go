package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// machineServer is the Redis this machine (and CI) runs for tests.
const machineServer = "127.0.0.1:6379"

func randomHex() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openFresh opens a driver on streams of its own ("evbtest-<random>") and
// deletes them in Cleanup, so the machine's other data is never touched.
func openFresh(t testing.TB, addr, params string, opts drivers.Options) *Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, "redis://"+addr+"/0?stream=evbtest-"+randomHex()+params, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2})
		defer c.Close()
		if err := c.Del(ctx, d.keys...).Err(); err != nil {
			t.Errorf("cleanup: DEL %v: %v", d.keys, err)
		}
		d.Close()
	})
	return d
}

func TestConformanceMachineServer(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	drivertest.Run(t, func(t *testing.T) drivers.Driver { return openFresh(t, machineServer, "", drivers.Options{}) })
}

func TestConformanceSharded(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return openFresh(t, machineServer, "&shards=3&conns=3", drivers.Options{})
	})
}

func TestDurableResumeMachineServer(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver { return openFresh(t, machineServer, "", drivers.Options{}) })
}

func TestDurableResumeSharded(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	drivertest.CheckDurableResume(t, func(t *testing.T) drivers.Driver {
		return openFresh(t, machineServer, "&shards=4", drivers.Options{})
	})
}

// TestUsesHarnessDialer: every connection goes through Options.Dial, so
// chaos faults reach it; a cut partition fails the append within the
// DSN timeout, and the driver works again once healed.
func TestUsesHarnessDialer(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	var p drivertest.Partition
	d := openFresh(t, machineServer, "&timeout=1s", drivers.Options{Dial: p.Dial})
	if _, err := d.Append(context.Background(), drivertest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	if p.Dials() == 0 {
		t.Fatal("no connection went through Options.Dial")
	}
	p.Cut(true)
	start := time.Now()
	_, err := d.Append(context.Background(), drivertest.Events(1, 1))
	if err == nil {
		t.Fatal("append through a cut partition succeeded")
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("append through a cut partition took %s to fail, want about the 1s timeout", el)
	}
	p.Cut(false)
	if _, err := d.Append(context.Background(), drivertest.Events(1, 1)); err != nil {
		t.Fatalf("append after the partition healed: %v", err)
	}
}

// TestForeignEntriesRefused: a stream holding entries with time-based IDs
// (not written by evbench) is refused with a message saying what to do.
func TestForeignEntriesRefused(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	d := openFresh(t, machineServer, "", drivers.Options{})
	if err := d.client.XAdd(context.Background(), &goredis.XAddArgs{Stream: d.keys[0], Values: []any{"a", "b"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Head(context.Background()); err == nil || !strings.Contains(err.Error(), "not written by evbench") {
		t.Errorf("Head over a foreign entry: %v", err)
	}
	if _, err := d.Append(context.Background(), drivertest.Events(1, 1)); err == nil {
		t.Error("XADD 0-* onto a stream with a time-based top ID succeeded")
	}
}

func TestResetDeletesStreams(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	d := openFresh(t, machineServer, "&shards=2", drivers.Options{})
	if _, err := d.Append(context.Background(), drivertest.Events(20, 5)); err != nil {
		t.Fatal(err)
	}
	if h, _ := d.Head(context.Background()); h.Total() != 20 {
		t.Fatalf("head %v, want 20 events", h)
	}
	if err := d.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := d.Head(context.Background())
	if err != nil || h.Total() != 0 || len(h) != 2 {
		t.Fatalf("head after reset %v, %v; want 0 on both shards", h, err)
	}
	pos, err := d.Append(context.Background(), drivertest.Events(1, 1))
	if err != nil || pos[0].Offset != 0 {
		t.Fatalf("first append after reset at %v, %v; want offset 0", pos, err)
	}
}

// TestDurabilityMachineServer: the machine's Redis keeps nothing on disk
// (appendonly no, save ""), and the label says so.
func TestDurabilityMachineServer(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	d := openFresh(t, machineServer, "", drivers.Options{})
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "machine redis", dur, err)
	if d.server.appendonly == "no" && (dur.AckAfterFsync != drivers.AckAfterFsyncFalse || !strings.Contains(dur.Detail, "in memory only")) {
		t.Errorf("appendonly no: label %+v, want false and 'in memory only'", dur)
	}
}

func TestRegistered(t *testing.T) {
	r, err := drivers.Lookup("redis")
	if err != nil {
		t.Fatal(err)
	}
	if r.DSNExample != dsnExample || r.CheckDSN == nil || !r.DurableConsumers || r.Embed != nil {
		t.Fatalf("registration: %+v", r)
	}
	if err := r.CheckDSN("redis://bob:s3cretpw@127.0.0.1:6379?nope=1"); err == nil || strings.Contains(err.Error(), "s3cretpw") {
		t.Fatalf("CheckDSN with an unknown parameter: %v; want an error without the password", err)
	}
	_, err = r.Open(context.Background(), "redis://bob:s3cretpw@"+drivertest.ClosedAddr(t)+"?timeout=500ms", drivers.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cretpw") {
		t.Fatalf("Open on a closed port: %v; want an error without the password", err)
	}
}

// TestFlushAnswersEachAppend: two appends in one MULTI/EXEC, one to a
// shard whose key is not a stream (XADD fails there with WRONGTYPE, at
// run time): the other append landed and gets its positions; the failed
// one gets the error.
func TestFlushAnswersEachAppend(t *testing.T) {
	drivertest.RequireService(t, "redis", machineServer)
	d := openFresh(t, machineServer, "&shards=2&conns=1", drivers.Options{})
	var good, bad drivers.Event
	for i := 0; good.Key == "" || bad.Key == ""; i++ {
		if i == 100 {
			t.Fatal("100 keys all hash to one of 2 shards")
		}
		e := drivertest.Events(1, 1)[0]
		e.Key = "k" + strings.Repeat("x", i)
		if shardOf(e.Key, 2) == 0 {
			good = e
		} else {
			bad = e
		}
	}
	if err := d.client.Set(context.Background(), d.keys[1], "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		pos []drivers.Position
		err error
	}
	var a, b answer
	d.lanes[0].flush([]*request{
		{ctx: context.Background(), batch: []drivers.Event{good}, done: func(p []drivers.Position, err error) { a = answer{p, err} }},
		{ctx: context.Background(), batch: []drivers.Event{bad}, done: func(p []drivers.Position, err error) { b = answer{p, err} }},
	})
	if a.err != nil || len(a.pos) != 1 || a.pos[0] != (drivers.Position{Partition: 0, Offset: 0}) {
		t.Errorf("append to the stream shard: %v, %v; want position {0 0}", a.pos, a.err)
	}
	if b.err == nil || !strings.Contains(b.err.Error(), "WRONGTYPE") {
		t.Errorf("append to the string key: %v, %v; want a WRONGTYPE error", b.pos, b.err)
	}
}
