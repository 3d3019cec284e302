package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// The durable watermark: file DURABLE holds a position W such that every
// position before W was known durable (fdatasynced) when it was written:
// `RDUR | u32 version | u64 W | u32 CRC32C`, replaced atomically (temp
// file, fsync, rename, dir fsync). It is written when a log is created (0),
// every Options.WatermarkInterval while the durable head moves, after each
// segment roll and at Close.
//
// Recovery uses it to tell the two kinds of hole apart in the last segment
// (a bad record with valid records after it). With pipelined groups, a
// power cut can keep a later unacknowledged group and lose an earlier one
// that was written but not yet synced: a hole at or beyond W is such an
// unacknowledged tail and is cut; a hole below W is in data that was
// acknowledged, i.e. corruption, and the open is refused as before. A log
// that ends before W has lost acknowledged data and is refused too. The
// watermark lags the acks by up to the interval, so corruption in the last
// interval's data is indistinguishable from a torn tail (it is cut).
const (
	watermarkFile  = "DURABLE"
	watermarkMagic = "RDUR"
	watermarkVer   = 1
)

func encodeWatermark(pos uint64) []byte {
	le := binary.LittleEndian
	b := append([]byte(watermarkMagic), 0, 0, 0, 0)
	le.PutUint32(b[4:], watermarkVer)
	b = le.AppendUint64(b, pos)
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// readWatermark returns the stored watermark; ok is false when there is
// none (a directory from before watermarks, or damaged: recovery then
// refuses every hole, as it did before).
func (l *Log) readWatermark() (pos uint64, ok bool, err error) {
	b, err := vfs.ReadFile(l.fs, filepath.Join(l.dir, watermarkFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("refstore: read %s: %w", watermarkFile, err)
	}
	le := binary.LittleEndian
	if len(b) != 20 || string(b[:4]) != watermarkMagic || le.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli) {
		note := fmt.Sprintf("%s is damaged: ignored (every hole in the log counts as corruption)", watermarkFile)
		l.report.Notes = append(l.report.Notes, note)
		l.opts.logf("refstore: %s", note)
		return 0, false, nil
	}
	if v := le.Uint32(b[4:]); v > watermarkVer {
		return 0, false, fmt.Errorf("refstore: %s has version %d, newer than this build (%d): upgrade evbench", watermarkFile, v, watermarkVer)
	}
	return le.Uint64(b[8:]), true, nil
}

// storeWatermark persists pos if it is beyond the last one written.
func (l *Log) storeWatermark(pos uint64) error {
	l.wmMu.Lock()
	defer l.wmMu.Unlock()
	if pos <= l.wmPos && l.wmWritten {
		return nil
	}
	if err := vfs.WriteFileAtomic(l.fs, l.dir, watermarkFile, encodeWatermark(pos)); err != nil {
		return fmt.Errorf("refstore: durable watermark: %w", err)
	}
	l.wmPos, l.wmWritten = pos, true
	return nil
}

// noteDurable records that every position before pos is durable.
func (l *Log) noteDurable(pos uint64) {
	for {
		cur := l.durable.Load()
		if pos <= cur || l.durable.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// watermarkLoop writes the durable position every WatermarkInterval while
// it moves, until stop is closed.
func (l *Log) watermarkLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(l.opts.WatermarkInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if err := l.storeWatermark(l.durable.Load()); err != nil {
			l.opts.logf("%v", err)
		}
	}
}
