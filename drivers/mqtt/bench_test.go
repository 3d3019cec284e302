package mqtt

import (
	"context"
	"os"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// BenchmarkAppendOneLane: one QoS 1 publish and its PUBACK per op, one
// lane (the floor of a key's append rate).
func BenchmarkAppendOneLane(b *testing.B) {
	drivertest.RequireService(b, "mosquitto", machineBroker)
	d := openFresh(b, freshDSN("&lanes=1"), drivers.Options{})
	evs := drivertest.Events(b.N, 1)
	b.ResetTimer()
	for i := range evs {
		if _, err := d.Append(context.Background(), evs[i:i+1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel: single-event appends from many goroutines over
// many keys, on the default lanes (EVBENCH_MQTT_LANES="&lanes=N" overrides).
func BenchmarkAppendParallel(b *testing.B) {
	drivertest.RequireService(b, "mosquitto", machineBroker)
	d := openFresh(b, freshDSN(benchLanes), drivers.Options{})
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		evs := drivertest.Events(1000, 1000)
		i := 0
		for pb.Next() {
			if _, err := d.Append(context.Background(), evs[i%1000:i%1000+1]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchLanes is the lane parameter BenchmarkAppendParallel runs with.
var benchLanes = os.Getenv("EVBENCH_MQTT_LANES")

// BenchmarkAppendParallelSubscribed is BenchmarkAppendParallel with a
// subscription taking every message, as in a run.
func BenchmarkAppendParallelSubscribed(b *testing.B) {
	drivertest.RequireService(b, "mosquitto", machineBroker)
	dsn := freshDSN(benchLanes)
	d, sub := openFresh(b, dsn, drivers.Options{}), openFresh(b, dsn, drivers.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sub.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		evs := drivertest.Events(1000, 1000)
		i := 0
		for pb.Next() {
			if _, err := d.Append(context.Background(), evs[i%1000:i%1000+1]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
