// Package memory is an in-process event store with no I/O. It exists to
// measure the harness's own ceiling: whatever rate evbench cannot hold
// against memory, it cannot hold against anything.
package memory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/evbench/evbench/drivers"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:            "memory",
		Description:     "in-process store with no I/O: the harness's own ceiling",
		DSNExample:      "memory:// or memory://?capacity=50000&service=exp (a simulated store of known capacity)",
		InProcess:       true,
		ExpectedVersion: true,
		Open:            open,
		CheckDSN:        func(dsn string) error { _, _, err := parseDSN(dsn); return err },
		Embed:           embed,

		DurableConsumers: true, // durable.go: committed offsets per group in the store
	})
}

// embedded names a private store so concurrent runs in one process (tests)
// never share data; Close forgets it.
type embedded struct{ name string }

var embedSeq atomic.Int64

func embed(ctx context.Context, dir string) (drivers.Embedded, error) {
	return embedded{name: fmt.Sprintf("run-%d", embedSeq.Add(1))}, nil
}

func (e embedded) DSN() string      { return "memory://" + e.name }
func (e embedded) Describe() string { return plainDescribe }
func (e embedded) Close() error {
	storesMu.Lock()
	delete(stores, e.name)
	storesMu.Unlock()
	return nil
}

// stores are shared by DSN so a producer and a consumer opened separately
// (as the runner does) see the same log. memory://name selects a store.
var (
	storesMu sync.Mutex
	stores   = map[string]*store{}
)

// parseDSN returns the store name of memory://NAME and its simulated
// capacity (memory://NAME?capacity=EVENTS_PER_S&service=fixed|exp, see
// Capacity); errors show the DSN redacted (drivers.RedactDSN) and name the
// parameter and the fix.
func parseDSN(dsn string) (string, Capacity, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "memory" {
		return "", Capacity{}, fmt.Errorf("memory: DSN %q: want memory://, memory://NAME or memory://NAME?capacity=EVENTS_PER_S", drivers.RedactDSN(dsn))
	}
	q := u.Query()
	for k, v := range q {
		switch {
		case k != "capacity" && k != "service":
			return "", Capacity{}, fmt.Errorf("memory: DSN %q: unknown parameter %q (the memory driver takes capacity=EVENTS_PER_S and service=fixed|exp)", drivers.RedactDSN(dsn), k)
		case len(v) > 1:
			return "", Capacity{}, fmt.Errorf("memory: DSN %q: parameter %s given %d times: give it once", drivers.RedactDSN(dsn), k, len(v))
		}
	}
	c, err := parseCapacity(q.Get("capacity"), q.Get("service"), q.Has("capacity"), q.Has("service"))
	if err != nil {
		return "", Capacity{}, fmt.Errorf("memory: DSN %q: %w", drivers.RedactDSN(dsn), err)
	}
	return u.Host + u.Path, c, nil
}

func open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	name, c, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	storesMu.Lock()
	defer storesMu.Unlock()
	s, ok := stores[name]
	if ok && !opts.Reset && s.capacity() != c {
		return nil, fmt.Errorf("memory: DSN %q: store %q is open as %s: open it with the same parameters, or with reset", drivers.RedactDSN(dsn), name, s.describe())
	}
	if !ok || opts.Reset {
		s = newStore()
		if c.EventsPerSec > 0 {
			s.sim = newServer(c, s)
		}
		stores[name] = s
	}
	return &Driver{s: s}, nil
}

// NewSimulated returns a driver on a fresh private store that simulates
// capacity c (for tests).
func NewSimulated(c Capacity) *Driver {
	s := newStore()
	if c.EventsPerSec > 0 {
		s.sim = newServer(c, s)
	}
	return &Driver{s: s}
}

// New returns a driver on a fresh private store (for tests).
func New() *Driver { return &Driver{s: newStore()} }

// chunkBits sizes the fixed chunks events are stored in: appending never
// copies what is already stored (a growing slice would, at every doubling).
const (
	chunkBits = 13
	chunkSize = 1 << chunkBits
)

// dedupeGeneration is how many event IDs one generation of the dedupe
// window holds. Two generations are kept, so a retried append is
// recognised among the last 4-8 Ki events, as real stores dedupe within
// a window (NATS JetStream: 2 minutes by default). Maps this small stay in
// cache; one map of every ID ever appended grew to millions of entries and
// cost more than the rest of the harness at 1M events/s.
const dedupeGeneration = 1 << 12

// slot is one stored event without pointers: strings and payloads are
// interned (keys and types repeat; the harness's payloads come from a pool
// and repeat by identity), so the garbage collector never scans the log.
// With one pointer-holding Event per slot, every GC cycle of a 10 s run at
// 1M events/s walked ~30M pointers and stalled the generator by 10-20 ms.
type slot struct {
	id        [16]byte
	seq       uint64
	createdAt int64
	key, typ  uint32 // into strs
	payload   uint32 // into payloads
}

// payloadRef identifies a payload slice by identity (data pointer, length).
type payloadRef struct {
	p *byte
	n int
}

type store struct {
	mu                 sync.Mutex
	chunks             [][]slot
	mem                *offHeap
	n                  int64
	strs               []string
	strIndex           map[string]uint32
	payloads           [][]byte
	payIndex           map[payloadRef]uint32
	strCache, payCache [internCacheSize]internEntry
	// recent and older are the two generations of the dedupe window.
	recent, older map[[16]byte]int64
	wake          chan struct{} // closed on the next append when armed
	armed         bool          // a subscriber waits on wake
	// sim, when set, is the simulated server appends queue for
	// (memory://?capacity=...): they are stored at their completion.
	sim *server
	// groups are the durable subscribers' committed offsets (durable.go).
	groups map[string]int64
	// versions counts events per stream for AppendExpected (expected.go).
	versions streamVersions
}

func (s *store) capacity() Capacity {
	if s.sim == nil {
		return Capacity{}
	}
	return s.sim.cap
}

const plainDescribe = "memory (in-process, no I/O, not durable, batch atomic)"

func (s *store) describe() string {
	if s.sim == nil {
		return plainDescribe
	}
	return s.sim.cap.describe()
}

func newStore() *store {
	s := &store{recent: make(map[[16]byte]int64, dedupeGeneration), older: make(map[[16]byte]int64, dedupeGeneration),
		strIndex: map[string]uint32{}, payIndex: map[payloadRef]uint32{}, wake: make(chan struct{}), mem: &offHeap{}}
	runtime.AddCleanup(s, (*offHeap).release, s.mem)
	return s
}

// internCacheSize is the number of entries of the direct-mapped caches in
// front of the intern maps: the harness passes the same string and payload
// objects again and again, so a pointer compare usually replaces a map
// lookup with hashing.
const internCacheSize = 1 << 12

type internEntry struct {
	p   unsafe.Pointer
	n   int
	idx uint32
}

func cacheSlot(p unsafe.Pointer) int { return int(uintptr(p)>>4) & (internCacheSize - 1) }

func (s *store) str(v string) uint32 {
	p := unsafe.Pointer(unsafe.StringData(v))
	e := &s.strCache[cacheSlot(p)]
	if e.p == p && e.n == len(v) && p != nil {
		return e.idx
	}
	i := s.strSlow(v)
	*e = internEntry{p, len(v), i}
	return i
}

func (s *store) strSlow(v string) uint32 {
	i, ok := s.strIndex[v]
	if !ok {
		i = uint32(len(s.strs))
		s.strs = append(s.strs, v)
		s.strIndex[v] = i
	}
	return i
}

// payload interns p by identity. The driver keeps the slice (callers must
// not modify it afterwards, as for every store that retains payloads).
func (s *store) payload(p []byte) uint32 {
	ptr := unsafe.Pointer(unsafe.SliceData(p))
	e := &s.payCache[cacheSlot(ptr)]
	if e.p == ptr && e.n == len(p) && ptr != nil {
		return e.idx
	}
	ref := payloadRef{unsafe.SliceData(p), len(p)}
	i, ok := s.payIndex[ref]
	if !ok {
		i = uint32(len(s.payloads))
		s.payloads = append(s.payloads, p)
		s.payIndex[ref] = i
	}
	*e = internEntry{ptr, len(p), i}
	return i
}

func (s *store) at(off int64) *slot {
	return &s.chunks[off>>chunkBits][off&(chunkSize-1)]
}

func (s *store) event(off int64) drivers.Event {
	sl := s.at(off)
	return drivers.Event{ID: sl.id, Key: s.strs[sl.key], Seq: sl.seq, Type: s.strs[sl.typ],
		Payload: s.payloads[sl.payload], CreatedAt: sl.createdAt}
}

func (s *store) add(ev *drivers.Event) int64 {
	if s.n&(chunkSize-1) == 0 && s.n>>chunkBits == int64(len(s.chunks)) {
		s.chunks = append(s.chunks, s.mem.chunk())
	}
	off := s.n
	*s.at(off) = slot{id: ev.ID, seq: ev.Seq, createdAt: ev.CreatedAt, key: s.str(ev.Key), typ: s.str(ev.Type), payload: s.payload(ev.Payload)}
	s.n++
	return off
}

// Driver is a connection to a memory store.
type Driver struct {
	s      *store
	mu     sync.Mutex
	closed bool
}

var errClosed = errors.New("memory: driver closed")

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// lookup finds a recently appended ID.
func (s *store) lookup(id [16]byte) (int64, bool) {
	if off, ok := s.recent[id]; ok {
		return off, true
	}
	off, ok := s.older[id]
	return off, ok
}

// remember adds an ID to the dedupe window, dropping the older generation
// when the recent one is full.
func (s *store) remember(id [16]byte, off int64) {
	if len(s.recent) >= dedupeGeneration {
		clear(s.older)
		s.recent, s.older = s.older, s.recent
	}
	s.recent[id] = off
}

// Append stores the batch; an event ID retried within the dedupe window
// (the last 4-8 Ki events) returns its original position. On a simulated
// store (memory://?capacity=...) it returns at the append's completion.
// The store keeps the batch's payload slices: callers must not modify them
// afterwards (the generator never does; copying would make the harness's
// ceiling a memcpy benchmark).
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if d.s.sim != nil {
		return d.appendSimulatedWait(ctx, batch)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.isClosed() {
		return nil, errClosed
	}
	s := d.s
	s.mu.Lock()
	pos := s.appendLocked(batch)
	s.wakeLocked()
	s.mu.Unlock()
	return pos, nil
}

// appendLocked stores the batch (deduplicating retried IDs) and returns its
// positions; s.mu is held.
func (s *store) appendLocked(batch []drivers.Event) []drivers.Position {
	pos := make([]drivers.Position, len(batch))
	for i := range batch {
		if off, dup := s.lookup(batch[i].ID); dup {
			pos[i] = drivers.Position{Offset: off}
			continue
		}
		off := s.add(&batch[i])
		s.remember(batch[i].ID, off)
		pos[i] = drivers.Position{Offset: off}
	}
	return pos
}

// wakeLocked wakes the subscribers waiting for an append; s.mu is held.
func (s *store) wakeLocked() {
	if s.armed {
		close(s.wake)
		s.wake = make(chan struct{})
		s.armed = false
	}
}

// AppendAsync appends synchronously and calls done before returning: the
// store never blocks, so there is nothing to overlap, and appends land in
// call order: per-key order holds with no routing. On a simulated store it
// queues the append and returns; done is called at its completion, from
// the store's completer goroutine, in arrival order.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	if d.s.sim != nil {
		d.appendSimulated(ctx, batch, done)
		return
	}
	done(d.Append(ctx, batch))
}

// Describe says what the store is: plain, or simulated with its capacity.
func (d *Driver) Describe() string { return d.s.describe() }

// BatchAtomic is true: a batch is stored under one lock hold, which
// nothing in it can fail (Append fails only before taking the lock), and
// subscribers read under the same lock, so they see all of it or none.
func (d *Driver) BatchAtomic() bool { return true }

// DeduplicatesByID reports that retried IDs are not stored twice.
func (d *Driver) DeduplicatesByID() bool { return true }

// Subscribe delivers from the cursor on, then waits for more.
func (d *Driver) Subscribe(ctx context.Context, from drivers.Cursor, deliver func([]drivers.Delivered) error) error {
	next := from[0]
	const maxBatch = 1024
	buf := make([]drivers.Delivered, 0, maxBatch)
	for {
		if d.isClosed() {
			return errClosed
		}
		d.s.mu.Lock()
		end := d.s.n
		if end-next > maxBatch {
			end = next + maxBatch
		}
		buf = buf[:0]
		for off := next; off < end; off++ {
			buf = append(buf, drivers.Delivered{Event: d.s.event(off), Position: drivers.Position{Offset: off}})
		}
		var wake chan struct{}
		if len(buf) == 0 {
			d.s.armed = true
			wake = d.s.wake
		}
		d.s.mu.Unlock()
		if len(buf) > 0 {
			if err := deliver(buf); err != nil {
				return err
			}
			next = end
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// Head is the number of stored events.
func (d *Driver) Head(ctx context.Context) (drivers.Cursor, error) {
	if d.isClosed() {
		return nil, errClosed
	}
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return drivers.Cursor{0: d.s.n}, nil
}

// Close marks the connection closed; the store lives on for other
// connections with the same DSN.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return nil
}
