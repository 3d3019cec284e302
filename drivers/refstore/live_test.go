package refstore

import (
	"context"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func TestLiveAfterIdle(t *testing.T) {
	e := embed(t)
	d := open(t, e.DSN())
	evs := drivertest.Events(2, 1)
	d.Append(context.Background(), evs[:1])
	got := make(chan int, 10)
	go d.Subscribe(context.Background(), nil, func(b []drivers.Delivered) error { got <- len(b); return nil })
	<-got
	time.Sleep(100 * time.Millisecond)
	d.Append(context.Background(), evs[1:])
	select {
	case <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("live event not delivered")
	}
}
