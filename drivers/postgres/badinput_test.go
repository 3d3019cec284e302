package postgres

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
)

const secret = "s3cretPW"

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		name, dsn string
		wantErr   []string // substrings; empty means success
		check     func(Config) bool
	}{
		{"defaults", "postgres://127.0.0.1:5432/test", nil, func(c Config) bool {
			return c.Schema == "evbench" && c.Table == "events" && c.Payload == "bytea" && c.Pool == 10 && c.BatchInsert == "values"
		}},
		{"all params", "postgres://h/db?schema=s1&table=t1&payload=jsonb&pool=3&batch_insert=copy&read_batch=10&poll=5ms&sslmode=disable&notify=off", nil, func(c Config) bool {
			return !c.Notify && c.Schema == "s1" && c.Table == "t1" && c.Payload == "jsonb" && c.Pool == 3 && c.BatchInsert == "copy" && c.ReadBatch == 10 && c.Poll == 5*time.Millisecond
		}},
		{"empty", "", []string{"driver postgres needs --dsn, e.g. postgres://127.0.0.1:5432/test"}, nil},
		{"not a url", "host=x user=y", []string{"not a postgres:// URL"}, nil},
		{"unknown param", "postgres://h/db?shema=x", []string{"unknown DSN parameter shema", "schema", "batch_insert", "payload", "pool", "table"}, nil},
		{"bad payload", "postgres://h/db?payload=json", []string{"payload=\"json\"", "bytea or jsonb"}, nil},
		{"bad schema", "postgres://h/db?schema=a-b", []string{"schema=", "identifier"}, nil},
		{"semicolon", "postgres://h/db?schema=a;drop", []string{"query string", "&"}, nil},
		{"bad pool", "postgres://h/db?pool=0", []string{"pool=\"0\""}, nil},
		{"bad insert", "postgres://h/db?batch_insert=multi", []string{"values or copy"}, nil},
		{"bad notify", "postgres://h/db?notify=yes", []string{"on or off"}, nil},
		{"bad poll", "postgres://h/db?poll=fast", []string{"poll=\"fast\""}, nil},
		{"password hidden", "postgres://u:" + secret + "@h/db?nope=1", []string{"unknown DSN parameter nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, pg, err := parseDSN(tc.dsn)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("parseDSN(%q): %v", tc.dsn, err)
				}
				if !tc.check(cfg) {
					t.Fatalf("parseDSN(%q) = %+v", tc.dsn, cfg)
				}
				if strings.Contains(pg, "schema=") || !strings.Contains(pg, "synchronous_commit=on") {
					t.Fatalf("pgx DSN %q: evbench params must be removed and synchronous_commit=on added", pg)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseDSN(%q) succeeded, want error", tc.dsn)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks the password or spans lines: %q", err)
			}
		})
	}
}

// TestRegistration: postgres needs a DSN, and its CheckDSN refuses what
// Open would refuse, without connecting and without the password.
func TestRegistration(t *testing.T) {
	reg, err := drivers.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if reg.Embed != nil {
		t.Error("postgres must not embed: a DSN is required")
	}
	if reg.CheckDSN == nil {
		t.Fatal("postgres registers no CheckDSN")
	}
	if err := reg.CheckDSN("postgres://u:" + secret + "@127.0.0.1:1/test?sslmode=disable"); err != nil {
		t.Errorf("CheckDSN of a valid DSN (unreachable port): %v", err)
	}
	for _, dsn := range []string{
		"postgres://u:" + secret + "@127.0.0.1:1/test?nosuchparam=1",
		"postgres://u:" + secret + "@127.0.0.1:1/test?sslmode=sometimes",
		"postgres://u@127.0.0.1:1/test?password=" + secret + "&connect_timeout=soon",
		"postgres://u:" + secret + "@[::1",
		"host=127.0.0.1 password=" + secret,
	} {
		err := reg.CheckDSN(dsn)
		if err == nil {
			t.Errorf("CheckDSN(%s) accepted it", drivers.RedactDSN(dsn))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("CheckDSN error leaks the password: %v", err)
		}
	}
}

// openErr opens dsn and returns the error, failing if it took longer than
// limit or succeeded.
func openErr(t *testing.T, dsn string, limit time.Duration) error {
	t.Helper()
	start := time.Now()
	d, err := Open(context.Background(), dsn, drivers.Options{})
	if err == nil {
		d.Close()
		t.Fatalf("Open(%s) succeeded, want an error", drivers.RedactDSN(dsn))
	}
	if took := time.Since(start); took > limit {
		t.Errorf("Open failed after %s, want within %s", took, limit)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the password: %v", err)
	}
	t.Logf("error: %v", err)
	return err
}

func TestOpenBadInput(t *testing.T) {
	// A port with nothing listening: refused at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := l.Addr().String()
	l.Close()
	// A server that accepts and never answers: the connect timeout fires.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held sync.WaitGroup
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held.Add(1)
			go func() { defer held.Done(); defer c.Close(); time.Sleep(3 * time.Second) }()
		}
	}()

	cases := []struct {
		name, dsn string
		need      []string
		service   bool
	}{
		{"refused", "postgres://u:" + secret + "@" + closedAddr + "/test", []string{closedAddr, "refused"}, false},
		{"silent server", "postgres://u:" + secret + "@" + silent.Addr().String() + "/test?connect_timeout=1", []string{silent.Addr().String(), "no answer within 1s"}, false},
		{"unknown user", "postgres://nobody_evbench:" + secret + "@" + testAddr + "/test?sslmode=disable", []string{testAddr, "nobody_evbench", "authentication failed"}, true},
		{"missing database", "postgres://postgres@" + testAddr + "/no_such_db_evbench?sslmode=disable", []string{testAddr, `database "no_such_db_evbench" does not exist`}, true},
		{"unknown param", "postgres://postgres@" + testAddr + "/test?colour=blue", []string{"colour", "schema"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.service {
				testDSN(t, "") // skips when the server is absent
			}
			err := openErr(t, tc.dsn, 5*time.Second)
			for _, w := range tc.need {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestEveryConnectionUsesDialer checks that pool and LISTEN connections all
// go through Options.Dial with the DSN's host:port, so a chaos proxy sees
// all traffic.
func TestEveryConnectionUsesDialer(t *testing.T) {
	dsn, schema := testDSN(t, "&poll=1s")
	var mu sync.Mutex
	var addrs []string
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		addrs = append(addrs, addr)
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, dsn, drivers.Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	defer d.DropSchema(context.Background())
	_ = schema
	if _, err := d.Append(ctx, []drivers.Event{{Key: "k", Payload: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	// The subscriber must be woken by NOTIFY (poll is 1s) through a dialled
	// LISTEN connection.
	sctx, stop := context.WithCancel(ctx)
	got := make(chan int, 10)
	go d.Subscribe(sctx, nil, func(b []drivers.Delivered) error { got <- len(b); return nil })
	<-got
	time.Sleep(200 * time.Millisecond) // LISTEN established
	start := time.Now()
	if _, err := d.Append(ctx, []drivers.Event{{ID: [16]byte{1}, Key: "k", Payload: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
		t.Logf("live event delivered %s after append (NOTIFY path)", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("live event not delivered")
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(addrs) < 2 {
		t.Fatalf("dialer saw %d connections, want pool + LISTEN connections", len(addrs))
	}
	for _, a := range addrs {
		if a != testAddr {
			t.Errorf("dialer got %q, want the DSN's %q unresolved", a, testAddr)
		}
	}
}
