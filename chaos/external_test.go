package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/evbench/evbench/scenarios"
)

// apiServer serves Toxiproxy's HTTP API on 127.0.0.1:0 in-process. v2.5.0's
// ApiServer.Listen builds its router internally and can os.Exit, so the test
// wires the exported handlers into a gorilla router itself.
func apiServer(t *testing.T) (string, *toxiproxy.ApiServer) {
	t.Helper()
	zerolog.SetGlobalLevel(zerolog.Disabled)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	r := mux.NewRouter()
	r.HandleFunc("/proxies", srv.ProxyIndex).Methods("GET")
	r.HandleFunc("/proxies", srv.ProxyCreate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", srv.ProxyShow).Methods("GET")
	r.HandleFunc("/proxies/{proxy}", srv.ProxyUpdate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", srv.ProxyDelete).Methods("DELETE")
	r.HandleFunc("/proxies/{proxy}/toxics", srv.ToxicIndex).Methods("GET")
	r.HandleFunc("/proxies/{proxy}/toxics", srv.ToxicCreate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", srv.ToxicDelete).Methods("DELETE")
	r.HandleFunc("/version", srv.Version).Methods("GET")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: r}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		_ = srv.Collection.Clear()
	})
	return "http://" + ln.Addr().String(), srv
}

// evbenchProxies counts the server's proxies named evbench-*.
func evbenchProxies(srv *toxiproxy.ApiServer) []string {
	var out []string
	for name := range srv.Collection.Proxies() {
		if strings.HasPrefix(name, "evbench-") {
			out = append(out, name)
		}
	}
	return out
}

func TestExternalUnreachableFailsFast(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	t0 := time.Now()
	_, err = New(context.Background(), Options{External: "http://" + addr})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("New with a dead server = %v, want an unreachable error", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Fatalf("New took %v to fail", d)
	}
	if _, err := New(context.Background(), Options{External: "127.0.0.1:8474"}); err == nil || !strings.Contains(err.Error(), "not an http URL") {
		t.Fatalf("New with a scheme-less URL = %v", err)
	}
}

func TestExternalRoundTripDeletesOnlyOwnProxies(t *testing.T) {
	t.Parallel()
	url, srv := apiServer(t)
	echo := echoServer(t)
	foreign := toxiproxy.NewProxy(srv, "someone-else", "127.0.0.1:0", echo)
	if err := srv.Collection.Add(foreign, true); err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), Options{External: url, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, cons := c.Dialer(PathProducer), c.Dialer(PathConsumer)
	for _, d := range []func(context.Context, string, string) (net.Conn, error){prod, cons} {
		if _, err := dialTrip(d, echo, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(evbenchProxies(srv)); n != 2 {
		t.Fatalf("evbench proxies on the server = %d, want 2", n)
	}
	startFaults(t, c,
		fault("latency", PathProducer, "0s", "10s", map[string]any{"latency": "50ms"}),
		fault("down", PathConsumer, "0s", "500ms", nil),
	)
	rtt, err := dialTrip(prod, echo, 3*time.Second)
	if err != nil || rtt < 50*time.Millisecond {
		t.Fatalf("external latency 50ms: rtt %v err %v, want >= 50ms", rtt, err)
	}
	if _, err := dialTrip(cons, echo, 300*time.Millisecond); err == nil {
		t.Fatal("consumer dial succeeded while its external proxy was down")
	}
	waitFor(t, "down ended", func() bool { return c.endedLen() == 1 })
	if _, err := dialTrip(cons, echo, 2*time.Second); err != nil {
		t.Fatalf("consumer dial after down on the external server: %v", err)
	}
	for _, w := range c.Windows() {
		if w.Error != "" {
			t.Errorf("fault %s: %s", w.Kind, w.Error)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if left := evbenchProxies(srv); len(left) != 0 {
		t.Fatalf("evbench proxies left after Close: %v", left)
	}
	if _, err := srv.Collection.Get("someone-else"); err != nil {
		t.Fatalf("Close deleted a proxy it did not create: %v", err)
	}
}

// TestSIGINTMidPartitionCleansExternalServer runs a separate process (this
// test binary, see TestHelperChaosProcess) that creates proxies and a
// partition through an external server, interrupts it with SIGINT in the
// middle of the partition, and checks that no evbench proxy is left.
func TestSIGINTMidPartitionCleansExternalServer(t *testing.T) {
	t.Parallel()
	url, srv := apiServer(t)
	echo := echoServer(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChaosProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "EVBENCH_CHAOS_HELPER_API="+url, "EVBENCH_CHAOS_HELPER_ECHO="+echo)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			t.Fatal("helper exited before READY")
		}
		t.Log(line)
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper not ready within 20s")
	}
	names := evbenchProxies(srv)
	if len(names) != 2 {
		t.Fatalf("evbench proxies during the partition = %v, want 2", names)
	}
	toxics := 0
	for _, n := range names {
		p, _ := srv.Collection.Get(n)
		toxics += len(p.Toxics.GetToxicArray())
	}
	if toxics != 4 {
		t.Fatalf("toxics during the partition = %d, want 4 (timeout up+down on 2 proxies)", toxics)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("helper exited with %v after SIGINT, want a clean exit", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not exit within 15s of SIGINT")
	}
	if left := evbenchProxies(srv); len(left) != 0 {
		t.Fatalf("evbench proxies left after SIGINT: %v", left)
	}
}

// TestHelperChaosProcess is the child of the SIGINT test; it does nothing
// unless EVBENCH_CHAOS_HELPER_API is set.
func TestHelperChaosProcess(t *testing.T) {
	api := os.Getenv("EVBENCH_CHAOS_HELPER_API")
	if api == "" {
		t.Skip("helper process for TestSIGINTMidPartitionCleansExternalServer")
	}
	echo := os.Getenv("EVBENCH_CHAOS_HELPER_ECHO")
	c, err := New(context.Background(), Options{External: api})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, stop := CleanupOnSignals(context.Background(), c)
	defer stop()
	for _, p := range []string{PathProducer, PathConsumer} {
		if _, err := dialTrip(c.Dialer(p), echo, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(ctx, time.Now(), []scenarios.Fault{fault("partition", PathBoth, "0s", "1h", nil)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partition", func() bool { return len(c.Windows()) == 1 })
	fmt.Println("READY", c.RunID())
	<-ctx.Done()
}

// TestCloseIsBoundedWhenExternalServerHangs: a server that stops answering
// must not keep Close (and so the run's exit) waiting.
func TestCloseIsBoundedWhenExternalServerHangs(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	defer close(hang)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("2.5.0")) })
	mux.HandleFunc("POST /proxies", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"name":"x","listen":"127.0.0.1:1","upstream":"127.0.0.1:2","enabled":true}`))
	})
	mux.HandleFunc("DELETE /proxies/{name}", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	c, err := New(context.Background(), Options{External: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expose(context.Background(), PathBoth, "127.0.0.1:2", ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "delete proxy") {
			t.Fatalf("Close with a hung server = %v, want a delete proxy error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close hung on an unresponsive external server")
	}
}
