package server

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

func start(t *testing.T) string {
	t.Helper()
	l, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(l, Config{MaxFrame: 1 << 16, MaxBatch: 10})
	a, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); l.Close() })
	return a.String()
}

func dialRaw(t *testing.T, addr string, hello bool) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if hello {
		c.Write(wire.AppendHello(nil))
		f, _, err := wire.ReadFrame(br, 1<<20, nil)
		if err != nil || f.Type != wire.THelloOK {
			t.Fatalf("hello: %+v %v", f, err)
		}
	}
	return c, br
}

// good checks that a well-behaved client still gets served.
var goodN byte

func good(t *testing.T, addr string) {
	t.Helper()
	goodN++
	c, br := dialRaw(t, addr, true)
	c.Write(wire.AppendAppend(nil, 9, engine.ExpectAny, []engine.Event{{ID: [16]byte{goodN}, Stream: "s", Payload: []byte("p")}}))
	f, _, err := wire.ReadFrame(br, 1<<20, nil)
	if err != nil || f.Type != wire.TAppendOK || f.ReqID != 9 {
		t.Fatalf("good client not served: %+v %v", f, err)
	}
}

func TestProtocolErrors(t *testing.T) {
	addr := start(t)
	cases := []struct {
		name  string
		hello bool
		send  []byte
		want  string // in the error frame; "" means the server just closes
	}{
		{"garbage instead of hello", false, []byte("GET / HTTP/1.1\r\n\r\n"), "handshake"},
		{"wrong magic", false, func() []byte {
			b, s := wire.Begin(nil, wire.THello, 0)
			b = append(b, "XXXX\x01\x00"...)
			return wire.End(b, s)
		}(), "magic"},
		{"newer protocol", false, func() []byte {
			b, s := wire.Begin(nil, wire.THello, 0)
			b = append(b, "RFST\x09\x00"...)
			return wire.End(b, s)
		}(), "protocol 9"},
		{"oversize frame", true, []byte{0, 0, 0, 0x10, 3}, "limit is 65536"},
		{"malformed append", true, func() []byte { b, s := wire.Begin(nil, wire.TAppend, 4); b = append(b, 1, 2, 3); return wire.End(b, s) }(), "ends early"},
		{"batch over limit", true, wire.AppendAppend(nil, 5, engine.ExpectAny, make([]engine.Event, 11)), "limit is 10"},
		{"unknown type", true, func() []byte { b, s := wire.Begin(nil, 99, 6); return wire.End(b, s) }(), "unknown frame type 99"},
		{"empty batch", true, wire.AppendAppend(nil, 7, engine.ExpectAny, nil), "empty batch"},
		{"cut mid-frame", true, wire.AppendAppend(nil, 8, engine.ExpectAny, []engine.Event{{Stream: "s"}})[:20], ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, br := dialRaw(t, addr, c.hello)
			conn.Write(c.send)
			if c.want == "" {
				conn.Close()
			} else {
				f, _, err := wire.ReadFrame(br, 1<<20, nil)
				if err != nil || f.Type != wire.TError {
					t.Fatalf("want an error frame, got %+v %v", f, err)
				}
				if msg := wire.DecodeError(f.Body).Error(); !strings.Contains(msg, c.want) {
					t.Fatalf("error %q, want %q", msg, c.want)
				}
			}
			good(t, addr)
		})
	}
}

func TestSubscribeStreamsAndFollows(t *testing.T) {
	addr := start(t)
	good(t, addr)
	c, br := dialRaw(t, addr, true)
	c.Write(wire.AppendU64(nil, wire.TSubscribe, 1, 0))
	f, _, err := wire.ReadFrame(br, 1<<20, nil)
	if err != nil || f.Type != wire.TEvents {
		t.Fatalf("%+v %v", f, err)
	}
	good(t, addr) // live
	f, _, err = wire.ReadFrame(br, 1<<20, nil)
	if n, _, _ := wire.DecodeEventsHeader(f.Body); err != nil || n != 1 {
		t.Fatalf("live frame: n=%d err=%v", n, err)
	}
	c2, br2 := dialRaw(t, addr, true)
	c2.Write(wire.AppendU64(nil, wire.TSubscribe, 1, 99))
	if f, _, err := wire.ReadFrame(br2, 1<<20, nil); err != nil || f.Type != wire.TError {
		t.Fatalf("subscribe beyond head: %+v %v", f, err)
	}
}
