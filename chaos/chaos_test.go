package chaos

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

func TestDialerCreatesProxyLazilyAndReusesIt(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	a, b := echoServer(t), echoServer(t)
	if n := len(c.Proxies()); n != 0 {
		t.Fatalf("proxies before any dial = %d, want 0", n)
	}
	prod := c.Dialer(PathProducer)
	for i := 0; i < 3; i++ {
		if _, err := dialTrip(prod, a, 2*time.Second); err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	if n := len(c.Proxies()); n != 1 {
		t.Fatalf("proxies after 3 dials to one address = %d, want 1", n)
	}
	if _, err := dialTrip(prod, b, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTrip(c.Dialer(PathConsumer), a, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	ps := c.Proxies()
	if len(ps) != 3 {
		t.Fatalf("proxies = %d, want 3 (producer a, producer b, consumer a)", len(ps))
	}
	for _, p := range ps {
		if !strings.HasPrefix(p.Name, "evbench-"+c.RunID()+"-") {
			t.Errorf("proxy name %q lacks the evbench-<runid>- prefix", p.Name)
		}
		if p.Listen == p.Upstream || !strings.HasPrefix(p.Listen, "127.0.0.1:") {
			t.Errorf("proxy %s listens on %s, want a 127.0.0.1 port of its own", p.Name, p.Listen)
		}
	}
}

func TestDialerRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	cases := []struct{ path, addr, want string }{
		{PathProducer, "10.1.2.3:5432", "not on this host"},
		{PathProducer, "example.com:80", "not on this host"},
		{PathProducer, "127.0.0.1", "not host:port"},
		{"projector", "127.0.0.1:1", "cannot be proxied"},
	}
	if _, err := c.Dialer(PathProducer)(context.Background(), "udp", "127.0.0.1:53"); err == nil || !strings.Contains(err.Error(), "only tcp") {
		t.Errorf("udp dial error = %v, want only tcp", err)
	}
	if n := len(c.Proxies()); n != 0 {
		t.Errorf("rejected dials created %d proxies", n)
	}
	for _, tc := range cases {
		_, err := c.Dialer(tc.path)(context.Background(), "tcp", tc.addr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Dialer(%q)(%q) error = %v, want it to mention %q", tc.path, tc.addr, err, tc.want)
		}
	}
}

func TestLatencyAddsAtLeastConfiguredDelay(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	prod := c.Dialer(PathProducer)
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil { // create the proxy before the fault
		t.Fatal(err)
	}
	startFaults(t, c, fault("latency", PathProducer, "0s", "10s", map[string]any{"latency": "50ms"}))
	for i := 0; i < 3; i++ {
		rtt, err := dialTrip(prod, addr, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if rtt < 50*time.Millisecond {
			t.Fatalf("RTT under latency 50ms = %v, want >= 50ms", rtt)
		}
	}
	w := c.Windows()
	if len(w) != 1 || w[0].Kind != "latency" || w[0].Path != PathProducer || w[0].Params["latency"] != "50ms" {
		t.Fatalf("Windows() = %+v, want one latency window on producer with its params", w)
	}
}

func TestFaultAppliesToProxiesCreatedLater(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	startFaults(t, c, fault("latency", PathConsumer, "0s", "10s", map[string]any{"latency": "40ms"}))
	rtt, err := dialTrip(c.Dialer(PathConsumer), addr, 3*time.Second) // first dial: proxy created now
	if err != nil {
		t.Fatal(err)
	}
	if rtt < 40*time.Millisecond {
		t.Fatalf("RTT through a proxy created during the fault = %v, want >= 40ms", rtt)
	}
}

func TestPartitionStopsTrafficOnlyOnItsPathAndHeals(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	prod, cons := c.Dialer(PathProducer), c.Dialer(PathConsumer)
	ctx := context.Background()
	conn, err := prod(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := roundTrip(conn, []byte("before"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTrip(cons, addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Start(ctx, start, []scenarios.Fault{fault("partition", PathProducer, "0s", "1s", nil)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partition in effect", func() bool { return len(c.Windows()) == 1 })

	if _, err := roundTrip(conn, []byte("during"), 300*time.Millisecond); err == nil {
		t.Fatal("round trip on the producer path succeeded during a partition")
	}
	if _, err := dialTrip(prod, addr, 300*time.Millisecond); err == nil {
		t.Fatal("new producer connection got an echo during a partition")
	}
	if _, err := dialTrip(cons, addr, 2*time.Second); err != nil {
		t.Fatalf("consumer path affected by a producer partition: %v", err)
	}

	waitFor(t, "partition removed", func() bool { return c.endedLen() == 1 })
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil {
		t.Fatalf("new producer connection after the partition: %v", err)
	}
}

func TestDownRefusesThenRestoresSamePort(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	prod := c.Dialer(PathProducer)
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	listen := c.Proxies()[0].Listen
	startFaults(t, c, fault("down", PathBoth, "0s", "700ms", nil))
	if _, err := dialTrip(prod, addr, 500*time.Millisecond); err == nil {
		t.Fatal("dial through a down proxy got an echo")
	}
	if conn, err := net.DialTimeout("tcp", listen, 500*time.Millisecond); err == nil {
		conn.Close()
		t.Fatalf("listener %s still accepts while down", listen)
	}
	waitFor(t, "down removed", func() bool { return c.endedLen() == 1 })
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil {
		t.Fatalf("dial after down ended: %v", err)
	}
	if got := c.Proxies()[0].Listen; got != listen {
		t.Fatalf("proxy listens on %s after down, want the same %s", got, listen)
	}
}

func TestOverlappingFaultsCompose(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	prod := c.Dialer(PathProducer)
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	startFaults(t, c,
		fault("latency", PathProducer, "0s", "10s", map[string]any{"latency": "50ms"}),
		fault("bandwidth", PathBoth, "0s", "10s", map[string]any{"rate": 64}),
		fault("latency", PathProducer, "0s", "10s", map[string]any{"latency": "30ms", "stream": "downstream"}),
	)
	p, err := c.be.(*inproc).srv.Collection.Get(c.Proxies()[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Toxics.GetToxicArray()); n != 3 {
		t.Fatalf("toxics on the producer proxy = %d, want 3 (two latencies + bandwidth)", n)
	}
	rtt, err := dialTrip(prod, addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rtt < 80*time.Millisecond {
		t.Fatalf("RTT with latency 50ms up + 30ms down = %v, want >= 80ms", rtt)
	}
}

func TestCloseRemovesProxiesAndFreesPorts(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	if _, err := dialTrip(c.Dialer(PathProducer), addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTrip(c.Dialer(PathConsumer), addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	live, err := c.Dialer(PathProducer)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	startFaults(t, c, fault("partition", PathBoth, "0s", "1m", nil))
	ps := c.Proxies()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := len(c.be.(*inproc).srv.Collection.Proxies()); n != 0 {
		t.Fatalf("proxies left after Close = %d", n)
	}
	for _, p := range ps {
		if conn, err := net.DialTimeout("tcp", p.Listen, time.Second); err == nil {
			conn.Close()
			t.Errorf("listener %s (%s) still accepts after Close", p.Listen, p.Name)
		}
	}
	if _, err := roundTrip(live, []byte("x"), time.Second); err == nil {
		t.Error("a live proxied connection survived Close")
	}
	if _, err := c.Dialer(PathProducer)(context.Background(), "tcp", addr); err == nil {
		t.Error("Dialer works after Close")
	}
	if err := c.Start(context.Background(), time.Now(), nil); err == nil {
		t.Error("Start works after Close")
	}
}

func TestStartRejectsInvalidFault(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	err := c.Start(context.Background(), time.Now(), []scenarios.Fault{fault("partiton", PathBoth, "0s", "1s", nil)})
	if err == nil || !strings.Contains(err.Error(), "faults[0]: kind: unknown fault kind") {
		t.Fatalf("Start error = %v", err)
	}
}

func TestStartStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	prod := c.Dialer(PathProducer)
	if _, err := dialTrip(prod, addr, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx, time.Now(), []scenarios.Fault{
		fault("latency", PathProducer, "0s", "1h", map[string]any{"latency": "200ms"}),
		fault("down", PathProducer, "1h", "1s", nil),
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "latency in effect", func() bool { return len(c.Windows()) == 1 })
	cancel()
	waitFor(t, "faults removed after ctx end", func() bool { return c.endedLen() == 1 })
	if rtt, err := dialTrip(prod, addr, 2*time.Second); err != nil || rtt >= 200*time.Millisecond {
		t.Fatalf("after ctx end: rtt %v err %v, want the latency gone", rtt, err)
	}
	w := c.Windows()
	if len(w) != 1 || w[0].ForS >= 3600 {
		t.Fatalf("Windows() = %+v, want the one executed fault with its actual (cut) length", w)
	}
}

func TestDefaultStreamFollowsThePathsDataDirection(t *testing.T) {
	t.Parallel()
	c := newInprocChaos(t)
	addr := echoServer(t)
	for _, p := range []string{PathProducer, PathConsumer} {
		if _, err := dialTrip(c.Dialer(p), addr, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	startFaults(t, c, fault("latency", PathBoth, "0s", "1m", map[string]any{"latency": "1ms"}))
	want := map[string]string{PathProducer: "upstream", PathConsumer: "downstream"}
	for _, px := range c.Proxies() {
		p, err := c.be.(*inproc).srv.Collection.Get(px.Name)
		if err != nil {
			t.Fatal(err)
		}
		tx := p.Toxics.GetToxicArray()
		if len(tx) != 1 {
			t.Fatalf("%s: %d toxics, want 1", px.Name, len(tx))
		}
		w := p.Toxics.GetToxic("evbench-f1-latency_" + want[px.Paths[0]])
		if w == nil {
			t.Errorf("%s (%v): no latency toxic on the %s stream", px.Name, px.Paths, want[px.Paths[0]])
		}
	}
}
