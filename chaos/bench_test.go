package chaos

import (
	"context"
	"net"
	"testing"
	"time"
)

// benchEcho measures one 64 B echo round trip per op over conn.
func benchEcho(b *testing.B, conn net.Conn) {
	msg := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := roundTrip(conn, msg, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoDirect is the loopback floor the proxied figure compares to.
func BenchmarkEchoDirect(b *testing.B) {
	addr := echoServer(b)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	benchEcho(b, conn)
}

// BenchmarkEchoProxied is the same round trip through an in-process proxy
// with no fault active: the harness's own cost on every request.
func BenchmarkEchoProxied(b *testing.B) {
	addr := echoServer(b)
	c, err := New(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conn, err := c.Dialer(PathProducer)(context.Background(), "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	benchEcho(b, conn)
}
