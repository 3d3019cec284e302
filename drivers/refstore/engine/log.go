// Package engine is refstore's log engine: a segmented, preallocated,
// append-only log of CRC32C-checked records with group commit, recovery that
// truncates a torn tail and refuses real corruption, idempotent appends by
// event ID, per-stream optimistic concurrency, and readers that follow the
// committed head.
package engine

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// Expected-version sentinels for AppendRequest.Expected (EventStoreDB style:
// stream versions are 0-based, an exact N means the stream's last version is N).
const (
	ExpectAny      int64 = -2
	ExpectNoStream int64 = -1
)

// Errors callers may test with errors.Is.
var (
	ErrClosed   = errors.New("refstore: log closed")
	ErrConflict = errors.New("refstore: wrong expected version")
)

// ConflictError is a failed optimistic-concurrency check. errors.Is(err,
// ErrConflict) holds for it; its text is parsed back by the wire client
// (wire.RemoteError.Conflict), so keep the format.
type ConflictError struct {
	Stream   string
	Expected int64 // ExpectNoStream or the exact version asked for
	Actual   int64 // the stream's last version, -1 when it has no events
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: stream %q: expected version %d, actual %d", ErrConflict, e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Event is what a caller appends; the engine adds position, stream version
// and timestamp.
type Event struct {
	ID        [16]byte
	Stream    string
	Seq       uint64
	Type      string
	Payload   []byte
	CreatedAt int64
}

// AppendRequest is one atomic batch: all of it is written in one commit
// group, or none of it.
type AppendRequest struct {
	// Expected is ExpectAny, ExpectNoStream or the stream's current last
	// version; anything but ExpectAny needs every event in one stream.
	Expected int64
	Events   []Event
}

// RecoveryReport says what Open found and did.
type RecoveryReport struct {
	Segments       int
	Records        uint64
	TruncatedBytes int64  // torn-tail bytes dropped
	TruncatedAt    string // "segment offset" of the cut, when TruncatedBytes > 0
	Checkpoint     uint64 // position the checkpoint used covered (0: none, full scan)
	Scanned        uint64 // records scanned after it
	Watermark      uint64 // durable watermark found (positions before it were acknowledged)
	Notes          []string
}

// Log is an open refstore log. All methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	fs   vfs.FS
	lock io.Closer

	mu   sync.Mutex // guards segs, wake, segment indexes
	segs []*segment
	wake chan struct{}

	committed atomic.Uint64 // next position readers may not reach

	sendMu  sync.RWMutex // guards closed and sends on reqs
	closed  bool
	reqs    chan *request
	stopped chan struct{}

	// committer-owned state
	next    uint64
	streams streams
	dedupe  *dedupe
	// dedupeFrom is the first position recovery adds to dedupe.
	dedupeFrom uint64
	gc         groupState
	sy         syncer  // sync=always: the fdatasync stage
	inflight   pending // groups written and not yet acknowledged
	stats      statCounters

	ckMu  sync.Mutex // serializes checkpoint writes
	ckPos uint64     // position the newest written checkpoint covers
	ckWG  sync.WaitGroup

	failed atomic.Pointer[error] // set once: the log is read-only

	durable   atomic.Uint64 // every position before it is known durable
	wmMu      sync.Mutex    // serializes watermark writes
	wmPos     uint64        // the last watermark written
	wmWritten bool
	wmLoaded  uint64 // the watermark recovery found
	wmOK      bool   // whether it found one
	wmStop    chan struct{}
	wmDone    chan struct{}

	report RecoveryReport
}

// Dir is the data directory.
func (l *Log) Dir() string { return l.dir }

// Sync is the durability mode the log runs with.
func (l *Log) Sync() SyncMode { return l.opts.Sync }

// Recovery reports what Open found.
func (l *Log) Recovery() RecoveryReport { return l.report }

// Head is the next position: every position before it is committed.
func (l *Log) Head() uint64 { return l.committed.Load() }

// Changed returns a channel closed at the next commit. Take it before
// reading Head to never miss a wake-up.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wake
}

func (l *Log) notify() {
	l.mu.Lock()
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// Close stops accepting appends, finishes queued ones, syncs and closes the
// files. It is idempotent.
func (l *Log) Close() error {
	l.sendMu.Lock()
	if l.closed {
		l.sendMu.Unlock()
		<-l.stopped
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.sendMu.Unlock()
	<-l.stopped
	close(l.wmStop)
	<-l.wmDone
	var first error
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.segs {
		if err := s.f.Sync(); err != nil && first == nil {
			first = l.fail(syncErr(fmt.Errorf("refstore: sync segment %s on close: %w", s.path, err)))
		}
	}
	if first == nil && l.failure() == nil {
		l.mu.Unlock() // encodeCheckpoint takes it
		first = l.checkpointOnClose()
		if first == nil {
			first = l.storeWatermark(l.next)
		}
		l.mu.Lock()
	}
	l.ckWG.Wait()
	for _, s := range l.segs {
		s.f.Close()
	}
	l.lock.Close()
	close(l.wake)
	l.wake = make(chan struct{})
	return first
}

func (l *Log) isClosed() bool {
	l.sendMu.RLock()
	defer l.sendMu.RUnlock()
	return l.closed
}

// segFor returns the segment holding pos and its index.
func (l *Log) segFor(pos uint64) (*segment, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > pos }) - 1
	if i < 0 {
		i = 0
	}
	return l.segs[i], i
}

func (l *Log) segAt(i int) *segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < len(l.segs) {
		return l.segs[i]
	}
	return nil
}

// seekOffset is the sparse-index offset at or before pos within s.
func (l *Log) seekOffset(s *segment, pos uint64) (uint64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].pos > pos }) - 1
	if i < 0 {
		return s.base, segHeaderSize
	}
	return s.index[i].pos, s.index[i].off
}
