package drivertest

import (
	"context"
	"net"
	"sync/atomic"
)

// Partition is a dialer for driver tests that can black-hole every
// connection it made, the way a network partition does: while cut, writes
// vanish, reads see nothing (their deadlines still fire), and new dials hang
// until their context ends. Pass p.Dial as drivers.Options.Dial.
type Partition struct {
	cut   atomic.Bool
	dials atomic.Int64
}

// Cut starts (true) or heals (false) the partition.
func (p *Partition) Cut(on bool) { p.cut.Store(on) }

// Dials counts connections attempted through p: a test can check that a
// driver really used the dialer it was given.
func (p *Partition) Dials() int64 { return p.dials.Load() }

// Dial connects like net.Dialer unless the partition is cut.
func (p *Partition) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p.dials.Add(1)
	if p.cut.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &holeConn{Conn: c, p: p}, nil
}

type holeConn struct {
	net.Conn
	p *Partition
}

func (h *holeConn) Write(b []byte) (int, error) {
	if h.p.cut.Load() {
		return len(b), nil
	}
	return h.Conn.Write(b)
}

func (h *holeConn) Read(b []byte) (int, error) {
	for {
		n, err := h.Conn.Read(b)
		if err != nil || !h.p.cut.Load() {
			return n, err
		}
	}
}
