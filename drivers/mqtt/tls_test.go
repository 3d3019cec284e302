package mqtt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// The machine's Mosquitto has no TLS listener: these tests put
// drivertest.TLSProxy in front of it, which terminates TLS on a fresh
// 127.0.0.1 port and forwards plaintext to the broker.

// tlsDSN is an mqtts:// DSN for addr with a topic prefix of its own.
func tlsDSN(addr, params string) string {
	var b [4]byte
	rand.Read(b[:])
	return "mqtts://" + addr + "/?topic=evbtest/" + hex.EncodeToString(b[:]) + params
}

func caParam(f drivertest.TLSFiles) string { return "&ca=" + f.CA }

func clientCertParams(f drivertest.TLSFiles) string {
	return caParam(f) + "&cert=" + f.ClientCert + "&key=" + f.ClientKey
}

// openErr opens dsn and returns Open's error (nil is a test failure: the
// caller expects a refusal).
func openErr(t *testing.T, dsn string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{})
	if err == nil {
		d.Close()
		t.Fatalf("Open(%s) succeeded, want a TLS failure", drivers.RedactDSN(dsn))
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	t.Logf("refused: %v", err)
	return err
}

// TestConformanceTLS: the conformance variant of the plaintext tests,
// every connection over TLS (server verified against ca=).
func TestConformanceTLS(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	addr := drivertest.TLSProxy(t, f, machineBroker, false)
	drivertest.RunLiveOnly(t, func(t *testing.T) drivers.Driver { return openFresh(t, tlsDSN(addr, caParam(f)), drivers.Options{}) })
}

// TestTLSRoundTripAndDescribe: two subscriptions over TLS each get every
// event, Describe names the TLS mode, and the durability probe (its own
// TLS connection) still identifies the broker.
func TestTLSRoundTripAndDescribe(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	addr := drivertest.TLSProxy(t, f, machineBroker, false)
	dsn := tlsDSN(addr, caParam(f))
	if got := twoSubscribers(t, dsn); got[0] != 40 || got[1] != 40 {
		t.Fatalf("TLS subscriptions got %v events, want 40 each", got)
	}
	d := openFresh(t, dsn, drivers.Options{})
	if s := d.Describe(); !strings.HasSuffix(s, ", TLS") || !strings.Contains(s, addr) {
		t.Errorf("Describe() = %q, want the TLS mode named", s)
	}
	dur, err := d.Durability(context.Background())
	drivertest.CheckDurability(t, "mosquitto over TLS", dur, err)
	if dur.AckAfterFsync != drivers.AckAfterFsyncFalse {
		t.Errorf("durability over TLS = %+v, want Mosquitto identified (false)", dur)
	}
	plain := openFresh(t, freshDSN(""), drivers.Options{})
	if s := plain.Describe(); strings.Contains(s, "TLS") {
		t.Errorf("plaintext Describe() = %q names TLS", s)
	}
}

// TestTLSMutual: a listener that requires a client certificate accepts
// cert=/key= and refuses a client without them, saying what to add.
func TestTLSMutual(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	addr := drivertest.TLSProxy(t, f, machineBroker, true)

	dsn := tlsDSN(addr, clientCertParams(f))
	if got := twoSubscribers(t, dsn); got[0] != 40 || got[1] != 40 {
		t.Fatalf("mutual-TLS subscriptions got %v events, want 40 each", got)
	}
	if s := openFresh(t, dsn, drivers.Options{}).Describe(); !strings.HasSuffix(s, ", TLS with client certificate") {
		t.Errorf("Describe() = %q, want the client certificate named", s)
	}

	err := openErr(t, tlsDSN(addr, caParam(f)))
	if !strings.Contains(err.Error(), "add cert= and key=") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open without a client certificate: %v; want the broker named and the cert=/key= hint", err)
	}
}

// TestTLSUnknownCA: a server certificate the ca= bundle did not sign is
// refused during the handshake, with the hint.
func TestTLSUnknownCA(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	addr := drivertest.TLSProxy(t, f, machineBroker, false)
	err := openErr(t, tlsDSN(addr, "&ca="+f.OtherCA))
	if !strings.Contains(err.Error(), "not signed by a CA in ca=") || !strings.HasPrefix(err.Error(), "mqtt: TLS handshake with "+addr) {
		t.Fatalf("Open with the wrong CA: %v; want the handshake failure and the ca= hint", err)
	}
	// The system roots do not know the test CA either.
	if err := openErr(t, tlsDSN(addr, "")); !strings.Contains(err.Error(), "not signed by a CA") {
		t.Fatalf("Open without ca=: %v; want the unknown-authority hint", err)
	}
	// insecure_skip_verify=true connects anyway, and says so once.
	var mu sync.Mutex
	var logs []string
	opts := drivers.Options{Logf: func(format string, args ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}}
	dsn := tlsDSN(addr, "&insecure_skip_verify=true")
	c, _ := ParseDSN(dsn)
	tlsWarned.Delete(c.TLS.Warning())
	d1, d2 := openFresh(t, dsn, opts), openFresh(t, dsn, opts)
	if _, err := d1.Append(context.Background(), drivertest.Events(3, 1)); err != nil {
		t.Fatal(err)
	}
	warnings := 0
	for _, l := range logs {
		if strings.Contains(l, "WARNING: insecure_skip_verify=true") {
			warnings++
		}
	}
	if warnings != 1 || !strings.Contains(d2.Describe(), "WITHOUT CERTIFICATE VERIFICATION") {
		t.Fatalf("insecure_skip_verify: %d warnings in %q, Describe %q; want one warning and the loud label", warnings, logs, d2.Describe())
	}
}

// TestTLSToPlaintextPort: mqtts:// against a plaintext listener fails in
// the handshake and suggests the plaintext scheme or the TLS port.
func TestTLSToPlaintextPort(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	err := openErr(t, tlsDSN(machineBroker, caParam(f)))
	if !strings.Contains(err.Error(), "plaintext port") {
		t.Fatalf("mqtts:// to a plaintext port: %v; want the plaintext-port hint", err)
	}
}

// tapDialer dials through a Partition (so faults still apply) and records
// the first byte every connection writes.
type tapDialer struct {
	p     drivertest.Partition
	mu    sync.Mutex
	first []byte
}

func (d *tapDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.p.Dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: c, d: d}, nil
}

type tapConn struct {
	net.Conn
	d    *tapDialer
	seen atomic.Bool
}

func (c *tapConn) Write(b []byte) (int, error) {
	if len(b) > 0 && !c.seen.Swap(true) {
		c.d.mu.Lock()
		c.d.first = append(c.d.first, b[0])
		c.d.mu.Unlock()
	}
	return c.Conn.Write(b)
}

// TestTLSUsesDialer: with TLS on, every connection (publishers,
// subscriber, durability probe) is still dialled through Options.Dial, and
// what the dialer's connection carries is TLS (a handshake record, 0x16,
// first), so a chaos proxy sees the encrypted stream; a partition fails an
// Append within ack_timeout as in plaintext.
func TestTLSUsesDialer(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	addr := drivertest.TLSProxy(t, f, machineBroker, false)
	var tap tapDialer
	d := openFresh(t, tlsDSN(addr, caParam(f)+"&ack_timeout=500ms&conns=2"), drivers.Options{Dial: tap.Dial})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Subscribe(ctx, nil, func([]drivers.Delivered) error { return nil })
	if _, err := d.Durability(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := tap.p.Dials(); n != 4 {
		t.Fatalf("%d dials through Options.Dial, want 4 (2 publishers, subscriber, durability)", n)
	}
	tap.mu.Lock()
	first := bytes.Clone(tap.first)
	tap.mu.Unlock()
	if len(first) != 4 || bytes.Count(first, []byte{0x16}) != 4 {
		t.Fatalf("first bytes written on the dialer's connections: % x; want 4 TLS handshake records (16)", first)
	}
	tap.p.Cut(true)
	actx, acancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer acancel()
	start := time.Now()
	if _, err := d.Append(actx, drivertest.Events(1, 1)); err == nil {
		t.Fatal("Append through a cut partition succeeded")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Append through a cut partition took %v, want about ack_timeout (500ms)", el)
	}
}

// TestTLSSendsCredentials: the DSN's user and password travel in the
// CONNECT packet inside TLS (what HiveMQ Cloud and EMQX Cloud check). A tap
// between the TLS proxy and the broker reads the decrypted CONNECT.
func TestTLSSendsCredentials(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	f := drivertest.NewTLSFiles(t)
	tap, connects := plaintextTap(t, machineBroker)
	addr := drivertest.TLSProxy(t, f, tap, false)
	dsn := strings.Replace(tlsDSN(addr, caParam(f)+"&conns=1"), "mqtts://", "mqtts://bob:hunter22@", 1)
	d := openFresh(t, dsn, drivers.Options{}) // the machine's Mosquitto is anonymous: it accepts any credentials
	var cp *packets.Connect
	select {
	case cp = <-connects:
	case <-time.After(2 * time.Second):
		t.Fatal("no CONNECT reached the broker")
	}
	if cp.Username != "bob" || string(cp.Password) != "hunter22" || !cp.UsernameFlag || !cp.PasswordFlag {
		t.Fatalf("CONNECT user %q (flag %v), password %q (flag %v); want bob / hunter22", cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag)
	}
	if s := d.Describe(); strings.Contains(s, "hunter22") {
		t.Fatalf("Describe() shows the password: %q", s)
	}
}

// TestClientIDPrefix: client_id= prefixes the ID every connection
// sends in its CONNECT (a broker policy may allow only that prefix).
func TestClientIDPrefix(t *testing.T) {
	drivertest.RequireService(t, "mosquitto", machineBroker)
	tap, connects := plaintextTap(t, machineBroker)
	openFresh(t, strings.Replace(freshDSN("&conns=1&client_id=thing-7"), machineBroker, tap, 1), drivers.Options{Role: "producer"})
	select {
	case cp := <-connects:
		if !strings.HasPrefix(cp.ClientID, "thing-7-producer-") || len(cp.ClientID) != len("thing-7-producer-")+12 {
			t.Fatalf("CONNECT client ID %q; want thing-7-producer-<12 hex>", cp.ClientID)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no CONNECT reached the broker")
	}
}

// plaintextTap listens on 127.0.0.1, forwards every connection to target
// and sends the first packet each client wrote, decoded, on the channel.
func plaintextTap(t *testing.T, target string) (string, <-chan *packets.Connect) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *packets.Connect, 16)
	drivertest.Forward(t, ln, target, func(client io.Reader) {
		if cp, err := packets.ReadPacket(client); err == nil {
			if c, ok := cp.Content.(*packets.Connect); ok {
				out <- c
			}
		}
	})
	return ln.Addr().String(), out
}
