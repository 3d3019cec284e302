package engine

import (
	"fmt"
	"time"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// SyncMode says when appended data is made durable before it is acknowledged.
type SyncMode int

const (
	// SyncAlways fdatasyncs every commit group before acknowledging it. The
	// default, and the only mode allowed in published numbers.
	SyncAlways SyncMode = iota
	// SyncInterval acknowledges after the write and fdatasyncs at most every
	// Options.SyncInterval (a crash can lose the last interval).
	SyncInterval
	// SyncNone never syncs until Close (a crash can lose anything unsynced).
	SyncNone
)

func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSyncMode accepts always, interval or none.
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always", "":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	case "none":
		return SyncNone, nil
	}
	return 0, fmt.Errorf("refstore: sync mode %q: want always, interval or none", s)
}

// Options configure a Log. Zero values take the documented defaults.
type Options struct {
	// Sync is the durability mode; default SyncAlways.
	Sync SyncMode
	// SyncInterval is the fdatasync period under SyncInterval; default 100ms.
	SyncInterval time.Duration
	// SegmentSize is the preallocated size at which a segment rolls (a
	// soft limit: one commit group may run past it); default 64 MiB.
	SegmentSize int64
	// IndexEvery is the sparse index stride in records; default 4096
	// (10M events cost about 2,500 entries).
	IndexEvery uint64
	// DedupeWindow bounds the event IDs remembered for idempotent appends;
	// default 1,048,576 (about 60 MB). An ID is remembered for at least
	// DedupeWindow/2 later events; a retry older than that may be written
	// again.
	DedupeWindow int
	// MaxGroupBytes caps one commit group's write; default 8 MiB.
	MaxGroupBytes int
	// SyncConcurrency is how many fdatasyncs may run at once under
	// sync=always (each covers every group written before it started);
	// default 2. Raw 4 KiB write+fdatasync loops here scale to about 4 at
	// once, but with the full append path 1, 2 and 4 measured within noise
	// of each other, 2 never worse (see docs/refstore.md).
	SyncConcurrency int
	// WatermarkInterval is how often the durable watermark (file DURABLE,
	// see watermark.go) is rewritten while the durable head moves; default
	// 100ms. Corruption in the data acknowledged during the last interval
	// before a crash is cut as a torn tail instead of refusing the open.
	WatermarkInterval time.Duration
	// FS is the file layer; default vfs.OS. Tests and the power-loss
	// torture pass a *vfs.Mem.
	FS vfs.FS
	// Logf receives recovery notes; nil discards them.
	Logf func(format string, args ...any)

	// writeHook, when set (tests), runs before every segment write and can
	// fail it, e.g. with ENOSPC.
	writeHook func(off int64, n int) error
	// syncHook, when set (tests), runs before every commit fdatasync.
	syncHook func()
	// afterSyncHook, when set (tests), runs after every commit fdatasync
	// with its outcome, before the syncer looks at it.
	afterSyncHook func(error)
}

func (o Options) withDefaults() Options {
	if o.SyncInterval <= 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = 64 << 20
	}
	if o.IndexEvery == 0 {
		o.IndexEvery = 4096
	}
	if o.DedupeWindow <= 0 {
		o.DedupeWindow = 1 << 20
	}
	if o.SyncConcurrency <= 0 {
		o.SyncConcurrency = 2
	}
	if o.WatermarkInterval <= 0 {
		o.WatermarkInterval = 100 * time.Millisecond
	}
	if o.FS == nil {
		o.FS = vfs.OS
	}
	if o.MaxGroupBytes <= 0 {
		o.MaxGroupBytes = 8 << 20
	}
	return o
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}
