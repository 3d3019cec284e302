package mqtt

import (
	"net"
	"syscall"
)

// quickAck makes the kernel acknowledge every segment the broker sends at
// once (TCP_QUICKACK, which Linux clears again as it sees fit, hence after
// every read). Mosquitto leaves Nagle's algorithm on for client sockets
// (set_tcp_nodelay false, its default): a PUBACK then waits until the
// previous one is acknowledged, and Linux delays that acknowledgement by
// up to 40 ms, so with several publishes in flight commit latency grew to
// tens of milliseconds. Conns that expose no socket are returned as they
// are.
func quickAck(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{Conn: c, raw: raw}
	q.set()
	return q
}

type quickAckConn struct {
	net.Conn
	raw syscall.RawConn
}

func (q *quickAckConn) set() {
	_ = q.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (q *quickAckConn) Read(b []byte) (int, error) {
	n, err := q.Conn.Read(b)
	q.set()
	return n, err
}
