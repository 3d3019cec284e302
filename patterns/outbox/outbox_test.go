package outbox

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

const testAddr = "127.0.0.1:5432"

// openTest opens a store on the local test database under a fresh prefix
// and drops its tables in Cleanup.
func openTest(t *testing.T, relays, batch int) *Store {
	t.Helper()
	drivertest.RequireService(t, "postgres", testAddr)
	var b [4]byte
	rand.Read(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DSN: "postgres://" + testAddr + "/test?sslmode=disable", Prefix: "evbt_ob_" + hex.EncodeToString(b[:]),
		Relays: relays, Batch: batch, Interval: 2 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// event makes event seq of key; its ID encodes both.
func event(key string, seq uint64) drivers.Event {
	e := drivers.Event{Key: key, Seq: seq, Type: "OrderPlaced", Payload: []byte(`{"n":1}`), CreatedAt: time.Now().UnixNano()}
	copy(e.ID[:], key)
	binary.BigEndian.PutUint64(e.ID[8:], seq)
	return e
}

// sink is a Target that keeps what it was given, in order.
type sink struct {
	mu     sync.Mutex
	events []drivers.Event
	fail   atomic.Bool
}

func (s *sink) Append(_ context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if s.fail.Load() {
		return nil, errors.New("target down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, batch...)
	return make([]drivers.Position, len(batch)), nil
}

func (s *sink) snapshot() []drivers.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]drivers.Event(nil), s.events...)
}

// verdict is what checkDelivery found.
type verdict struct{ lost, duplicated, reordered int }

// checkDelivery compares what the target got with the keys×perKey events
// written: each exactly once, per key in sequence order (a redelivery of
// an older event after a crash is a duplicate, not a reorder).
func checkDelivery(got []drivers.Event, keys, perKey int) verdict {
	var v verdict
	seen := map[[16]byte]int{}
	high := map[string]uint64{}
	for _, e := range got {
		seen[e.ID]++
		if seen[e.ID] > 1 {
			v.duplicated++
			continue
		}
		if e.Seq < high[e.Key] {
			v.reordered++
		}
		high[e.Key] = max(high[e.Key], e.Seq)
	}
	for k := 0; k < keys; k++ {
		for q := 1; q <= perKey; q++ {
			if seen[event(keyName(k), uint64(q)).ID] == 0 {
				v.lost++
			}
		}
	}
	return v
}

func keyName(k int) string { return fmt.Sprintf("order-%d", k) }

func TestCheckDeliveryFires(t *testing.T) {
	a1, a2, b1, b2 := event(keyName(0), 1), event(keyName(0), 2), event(keyName(1), 1), event(keyName(1), 2)
	cases := []struct {
		got  []drivers.Event
		want verdict
	}{
		{[]drivers.Event{a1, b1, a2, b2}, verdict{0, 0, 0}},
		{[]drivers.Event{a2, a1, b1, b2}, verdict{0, 0, 1}},
		{[]drivers.Event{a1, a2, a1, a2, b1, b2}, verdict{0, 2, 0}},
		{[]drivers.Event{a1, b1, b2}, verdict{1, 0, 0}},
	}
	for i, c := range cases {
		if got := checkDelivery(c.got, 2, 2); got != c.want {
			t.Errorf("case %d: %+v, want %+v", i, got, c.want)
		}
	}
}

// write commits perKey commands for each of keys keys, a key's commands
// one after another, keys concurrently.
func write(t *testing.T, w *Writer, keys, perKey int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := 1; q <= perKey; q++ {
				if _, err := w.Append(ctx, []drivers.Event{event(keyName(k), uint64(q))}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+s.Prefix()+"_"+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommandsCommitAtomically(t *testing.T) {
	s := openTest(t, 1, 100)
	w := s.Writer()
	ctx := context.Background()
	if _, err := w.Append(ctx, []drivers.Event{event("a", 1), event("a", 2)}); err != nil {
		t.Fatal(err)
	}
	// The second event's business row is invalid (NUL in text): the first
	// event's rows must roll back with it.
	bad := event("b", 2)
	bad.Key = "b\x00"
	if _, err := w.Append(ctx, []drivers.Event{event("b", 1), bad}); err == nil {
		t.Fatal("a command with an invalid row committed")
	}
	// A failure after both inserts, before commit.
	w.beforeCommit = func() error { return errors.New("handler failed") }
	if _, err := w.Append(ctx, []drivers.Event{event("c", 1)}); err == nil || !strings.Contains(err.Error(), "handler failed") {
		t.Fatalf("failed command: %v", err)
	}
	w.beforeCommit = nil
	if o, b := count(t, s, "outbox"), count(t, s, "orders"); o != 2 || b != 2 {
		t.Fatalf("outbox %d, orders %d rows; want 2 and 2 (failed commands must leave neither)", o, b)
	}
	// A retried command that committed already writes nothing again.
	pos, err := w.Append(ctx, []drivers.Event{event("a", 2)})
	if err != nil || pos[0].Offset != -1 || count(t, s, "outbox") != 2 {
		t.Fatalf("retry of a committed command: pos %v err %v, %d outbox rows", pos, err, count(t, s, "outbox"))
	}
}

// lagCount counts recorded lags and keeps the largest.
type lagCount struct {
	n   atomic.Int64
	max atomic.Int64
}

func (l *lagCount) Record(d time.Duration) {
	l.n.Add(1)
	for {
		m := l.max.Load()
		if int64(d) <= m || l.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// runRelays starts one relay per shard; stop cancels and waits for them.
func runRelays(t *testing.T, s *Store, target Target, lag LagRecorder) (relays []*Relay, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < s.Config().Relays; i++ {
		r, err := s.NewRelay(i, target, lag)
		if err != nil {
			t.Fatal(err)
		}
		relays = append(relays, r)
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run(ctx) }()
	}
	return relays, func() { cancel(); wg.Wait() }
}

func waitSent(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSent(ctx, 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestRelaysPublishExactlyOnceInKeyOrder(t *testing.T) {
	for _, relays := range []int{1, 2} {
		t.Run(fmt.Sprintf("relays=%d", relays), func(t *testing.T) {
			s := openTest(t, relays, 7) // a small batch: many claims race
			target := &sink{}
			lag := &lagCount{}
			rs, stop := runRelays(t, s, target, lag)
			const keys, perKey = 8, 40
			write(t, s.Writer(), keys, perKey) // relays publish while commands commit
			waitSent(t, s)
			stop()
			got := target.snapshot()
			if v := checkDelivery(got, keys, perKey); v != (verdict{}) || len(got) != keys*perKey {
				t.Fatalf("%d published: %+v", len(got), v)
			}
			var pub int64
			for _, r := range rs {
				pub += r.Published.Load()
				if relays > 1 && r.Published.Load() == 0 {
					t.Errorf("relay %d published nothing: the shards are not spread", r.Shard())
				}
			}
			if pub != keys*perKey || lag.n.Load() != pub || lag.max.Load() <= 0 {
				t.Fatalf("published %d, lag samples %d (max %v)", pub, lag.n.Load(), time.Duration(lag.max.Load()))
			}
		})
	}
}

func TestRelayCrashRepublishesNeverLoses(t *testing.T) {
	s := openTest(t, 2, 10)
	const keys, perKey = 6, 30
	write(t, s.Writer(), keys, perKey)
	target := &sink{}
	r, err := s.NewRelay(0, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.CrashAfterNextPublish()
	if err := r.Run(context.Background()); !errors.Is(err, ErrCrashed) {
		t.Fatalf("Run after a crash: %v", err)
	}
	dup := r.Duplicates.Load()
	if dup == 0 || dup != r.Published.Load() {
		t.Fatalf("crashed relay: duplicates %d, published %d", dup, r.Published.Load())
	}
	// A failing target leaves rows unsent: no loss either.
	target.fail.Store(true)
	_, stop := runRelays(t, s, target, nil)
	time.Sleep(20 * time.Millisecond)
	target.fail.Store(false)
	waitSent(t, s)
	stop()
	got := target.snapshot()
	v := checkDelivery(got, keys, perKey)
	if v.lost != 0 || v.reordered != 0 || int64(v.duplicated) != dup || len(got) != keys*perKey+int(dup) {
		t.Fatalf("after crash and restart: %+v over %d events, want %d duplicates, no loss, no reorder", v, len(got), dup)
	}
}

func TestConfigRefusesBadInput(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no Postgres DSN"},
		{Config{DSN: "nats://127.0.0.1:4222"}, "not a Postgres URL"},
		{Config{DSN: "host=x dbname=y"}, "not a Postgres URL"},
		{Config{DSN: "postgres://x/y", Prefix: "Bad-Name"}, "table prefix"},
	}
	for _, c := range cases {
		_, err := Open(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one line with %q", c.cfg, err, c.want)
		}
	}
}

func TestOpenRefusesExistingTables(t *testing.T) {
	s := openTest(t, 1, 1)
	_, err := Open(context.Background(), Config{DSN: s.Config().DSN, Prefix: s.Prefix()})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Open on the same prefix: %v", err)
	}
}

func TestUnreachablePostgresIsOneLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{DSN: "postgres://" + drivertest.ClosedAddr(t) + "/test"})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "outbox: connect") {
		t.Fatalf("unreachable Postgres: %q", err)
	}
}
