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
		Name:        "memory",
		Description: "in-process store with no I/O: the harness's own ceiling",
		DSNExample:  "memory://",
		InProcess:   true,
		Open:        open,
		CheckDSN:    func(dsn string) error { _, err := parseDSN(dsn); return err },
		Embed:       embed,
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
func (e embedded) Describe() string { return "memory (in-process, no I/O, not durable, batch atomic)" }
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

// parseDSN returns the store name of memory://NAME; errors show the DSN
// redacted (drivers.RedactDSN).
func parseDSN(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "memory" {
		return "", fmt.Errorf("memory: DSN %q: want memory:// or memory://NAME", drivers.RedactDSN(dsn))
	}
	if len(u.Query()) > 0 {
		return "", fmt.Errorf("memory: DSN %q: unknown parameter (the memory driver takes none)", drivers.RedactDSN(dsn))
	}
	return u.Host + u.Path, nil
}

func open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	name, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	storesMu.Lock()
	s, ok := stores[name]
	if !ok || opts.Reset {
		s = newStore()
		stores[name] = s
	}
	storesMu.Unlock()
	return &Driver{s: s}, nil
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
// (the last 4-8 Ki events) returns its original position.
// The store keeps the batch's payload slices: callers must not modify them
// afterwards (the generator never does; copying would make the harness's
// ceiling a memcpy benchmark).
func (d *Driver) Append(ctx context.Context, batch []drivers.Event) ([]drivers.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.isClosed() {
		return nil, errClosed
	}
	s := d.s
	pos := make([]drivers.Position, len(batch))
	s.mu.Lock()
	for i := range batch {
		if off, dup := s.lookup(batch[i].ID); dup {
			pos[i] = drivers.Position{Offset: off}
			continue
		}
		off := s.add(&batch[i])
		s.remember(batch[i].ID, off)
		pos[i] = drivers.Position{Offset: off}
	}
	if s.armed {
		close(s.wake)
		s.wake = make(chan struct{})
		s.armed = false
	}
	s.mu.Unlock()
	return pos, nil
}

// AppendAsync appends synchronously and calls done before returning: the
// store never blocks, so there is nothing to overlap, and appends land in
// call order: per-key order holds with no routing.
func (d *Driver) AppendAsync(ctx context.Context, batch []drivers.Event, done func([]drivers.Position, error)) {
	done(d.Append(ctx, batch))
}

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
