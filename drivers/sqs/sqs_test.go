package sqs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	"github.com/evbench/evbench/drivers/sqs/sqsfake"
)

func startFake(t testing.TB) string {
	t.Helper()
	srv, err := sqsfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

func openFresh(t testing.TB, endpoint, params string) *Driver {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	dsn := "sqs://us-east-1/evbtest-" + hex.EncodeToString(b[:]) + ".fifo?emulator=true&wait=1&endpoint=" + endpoint + params
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.drop(ctx)
		d.Close()
	})
	return d
}

func TestConformanceFake(t *testing.T) {
	ep := startFake(t)
	drivertest.RunQueue(t, func(t *testing.T) drivers.Driver { return openFresh(t, ep, "") })
}

// TestBatchOverTenIsSplit: 25 events go in three SendMessageBatch calls and
// all arrive in per-key order.
func TestBatchOverTenIsSplit(t *testing.T) {
	d := openFresh(t, startFake(t), "")
	evs := drivertest.Events(25, 3)
	pos, err := d.Append(context.Background(), evs)
	if err != nil || len(pos) != 25 || pos[24].Offset != 24 {
		t.Fatalf("Append(25) = %v, %v; want 25 positions 0..24", pos, err)
	}
	if h, _ := d.Head(context.Background()); h.Total() != 25 {
		t.Fatalf("head %v after 25 events", h)
	}
}

func TestOneSubscriberPerQueue(t *testing.T) {
	d := openFresh(t, startFake(t), "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() {
		close(started)
		_ = d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	}()
	<-started
	time.Sleep(50 * time.Millisecond)
	err := d.Subscribe(context.Background(), nil, func([]drivers.Delivered) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "one consumer") {
		t.Fatalf("second Subscribe: %v; want a refusal", err)
	}
}

func TestDeclarations(t *testing.T) {
	d := openFresh(t, startFake(t), "")
	if em, what := drivers.IsEmulated(d); !em || !strings.Contains(what, "emulator") {
		t.Errorf("IsEmulated = %v, %q", em, what)
	}
	if err := drivers.CheckReplay(d); !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("CheckReplay = %v; want ErrUnsupported", err)
	}
	real := &Driver{cfg: Config{Region: "us-east-1", Queue: "q.fifo"}}
	if em, _ := real.Emulated(); em {
		t.Error("a driver for the service reports emulated")
	}
	if dur, _ := real.Durability(context.Background()); dur.AckAfterFsync != drivers.AckAfterFsyncUnknown {
		t.Errorf("service durability %+v; want unknown", dur)
	}
}

func TestParseDSN(t *testing.T) {
	cfg, err := ParseDSN("sqs://us-east-1/evbench.fifo")
	if err != nil || cfg.Region != "us-east-1" || cfg.Queue != "evbench.fifo" || cfg.Wait != 20 || cfg.Visibility != 30 || cfg.Emulator {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ dsn, want string }{
		{"sqs://us-east-1/evbench.fifo?bogus=1", "known: emulator, endpoint, sns, subscribers, topic, visibility_timeout, wait"},
		{"sqs://us-east-1/evbench", "ending in .fifo"},
		{"sqs://nowhere/evbench.fifo", "region"},
		{"sqs://AKIA:s3cret@us-east-1/evbench.fifo", "credentials do not go in the DSN"},
		{"sqs://us-east-1/evbench.fifo?emulator=true", "needs endpoint"},
		{"sqs://us-east-1/evbench.fifo?subscribers=2", "needs sns=true"},
		{"sqs://us-east-1/evbench.fifo?wait=30", "wait"},
		{"sqs://us-east-1/evbench.fifo?endpoint=127.0.0.1:4100", "URL"},
	} {
		_, err := ParseDSN(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDSN(%q) = %v; want %q", tc.dsn, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseDSN(%q) leaks the secret: %v", tc.dsn, err)
		}
	}
}

func TestCheckConsumers(t *testing.T) {
	if err := CheckConsumers("sqs://us-east-1/evbench.fifo", 1); err != nil {
		t.Errorf("1 projector: %v", err)
	}
	if err := CheckConsumers("sqs://us-east-1/evbench.fifo", 2); err == nil || !strings.Contains(err.Error(), "consumers.projectors=1") {
		t.Errorf("2 projectors: %v; want a refusal naming the fix", err)
	}
}
