package httpdriver_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
	httpdriver "github.com/evbench/evbench/drivers/http"
)

// BenchmarkAppendAsync: the command path end to end (driver lanes, HTTP,
// the front, refstore sync=always), one event per request, 10000 keys.
func BenchmarkAppendAsync(b *testing.B) {
	for _, proto := range []string{"http1", "h2"} {
		for _, lanes := range []int{1, 32, 128} {
			b.Run(proto+"/lanes="+strconv.Itoa(lanes), func(b *testing.B) { benchAppendAsync(b, proto, lanes) })
		}
	}
}

func benchAppendAsync(b *testing.B, proto string, lanes int) {
	var dials atomic.Int64
	var nd net.Dialer
	opts := drivers.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nd.DialContext(ctx, network, addr)
	}}
	d, err := httpdriver.Open(context.Background(), startFront(b)+"/streams/{key}?proto="+proto+"&max_inflight="+strconv.Itoa(lanes), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	a := d.(drivers.AsyncAppender)
	evs := drivertest.Events(b.N, 10000)
	var wg sync.WaitGroup
	wg.Add(b.N)
	b.ResetTimer()
	for i := range evs {
		a.AppendAsync(context.Background(), evs[i:i+1], func(_ []drivers.Position, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	b.ReportMetric(float64(dials.Load()), "dials")
}
