package postgres

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/evbench/evbench/drivers"
	"github.com/rs/zerolog"
)

// TestBlackholeFailsAppendThenRecovers puts Toxiproxy between the driver
// and Postgres, blackholes the request path, and checks that Append fails
// when its context ends (no hang, group commit included) and that appends
// succeed again once the fault is removed.
func TestBlackholeFailsAppendThenRecovers(t *testing.T) {
	dsn, _ := testDSN(t, "")
	zerolog.SetGlobalLevel(zerolog.Disabled)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "pg", "127.0.0.1:0", testAddr)
	if err := srv.Collection.Add(p, true); err != nil {
		t.Fatal(err)
	}
	defer srv.Collection.Clear()
	p.Lock()
	proxyAddr := p.Listen
	p.Unlock()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, proxyAddr) // every connection through the proxy
	}
	ctx := context.Background()
	d := openTest(t, "") // owns the schema cleanup (direct connection)
	d.Close()
	pd, err := Open(ctx, dsn+"&schema="+d.cfg.Schema, drivers.Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	ev := func(i int) []drivers.Event {
		e := drivers.Event{Key: "k", Payload: []byte("{}")}
		copy(e.ID[:], fmt.Sprintf("fault-%d", i))
		return []drivers.Event{e}
	}
	if _, err := pd.Append(ctx, ev(0)); err != nil {
		t.Fatalf("append through proxy: %v", err)
	}
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(`{"name":"hole","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	start := time.Now()
	_, err = pd.Append(actx, ev(1))
	cancel()
	took := time.Since(start)
	if err == nil {
		t.Fatal("append succeeded through a blackhole")
	}
	if took > 3*time.Second {
		t.Fatalf("append took %s to fail after its 1s context", took)
	}
	t.Logf("blackholed append failed after %s: %v", took.Round(time.Millisecond), err)
	if err := p.Toxics.RemoveToxic(ctx, "hole"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 2; ; i++ {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := pd.Append(actx, ev(i))
		cancel()
		if err == nil {
			t.Logf("append recovered after %d failed attempt(s)", i-2)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("append still failing 10s after the fault ended: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	h, err := pd.Head(ctx)
	if err != nil || h[0] < 2 {
		t.Fatalf("head after recovery = %v, %v", h, err)
	}
}
