package refstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/wire"
)

// StreamEvent is one event read by stream: the event with its global
// position, and its version within the stream (0-based).
type StreamEvent struct {
	drivers.Delivered
	Version uint64
}

// ReadStream returns up to max committed (fsync-acknowledged) events of
// stream in version order, from fromVersion on. An unknown stream, or a
// fromVersion past its end, gives an empty result and no error. Large
// reads take several round trips (the server answers at most its max batch
// of events and about 512 KiB per frame). The server scans the log between
// the stream's first and last events, so a stream spread over the whole log
// costs a read of the log: meant for checks, not a hot path (see
// docs/refstore.md). It needs a protocol-2 server; an older one gives an
// error wrapping drivers.ErrUnsupported.
func (d *Driver) ReadStream(ctx context.Context, stream string, fromVersion uint64, max int) ([]StreamEvent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("refstore: read stream %q: max is %d, want at least 1", stream, max)
	}
	if len(stream) > record.MaxStream {
		return nil, fmt.Errorf("refstore: read stream: stream id is %d bytes, the limit is %d", len(stream), record.MaxStream)
	}
	pc, err := d.conn(ctx, d.slots[0], true)
	if err != nil {
		return nil, err
	}
	if pc.limits.Version < 2 {
		return nil, fmt.Errorf("refstore: read stream: server %s speaks protocol %d, reads by stream need 2: %w", d.cfg.addr, pc.limits.Version, drivers.ErrUnsupported)
	}
	var out []StreamEvent
	types := map[string]string{}
	from := fromVersion
	for len(out) < max {
		ask := min(max-len(out), pc.limits.MaxBatch)
		got, cut, err := d.readStreamOnce(ctx, pc, stream, from, ask, types)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
		if len(got) == 0 || (!cut && len(got) < ask) {
			break // the stream (as committed) ends here
		}
		from = got[len(got)-1].Version + 1
	}
	return out, nil
}

// readStreamOnce is one TReadStream round trip.
func (d *Driver) readStreamOnce(ctx context.Context, pc *pconn, stream string, from uint64, max int, types map[string]string) ([]StreamEvent, bool, error) {
	type res struct {
		evs []StreamEvent
		cut bool
		err error
	}
	ch := make(chan res, 1)
	pc.call(ctx, func(dst []byte, id uint32) []byte { return wire.AppendReadStream(dst, id, stream, from, max) }, answerFunc(func(f wire.Frame, err error) {
		if err != nil {
			ch <- res{err: fmt.Errorf("refstore: read stream %q: %w", stream, err)}
			return
		}
		switch f.Type {
		case wire.TStreamEvents:
		case wire.TError:
			ch <- res{err: fmt.Errorf("refstore: read stream %q: %w", stream, wire.DecodeError(f.Body))}
			return
		default:
			ch <- res{err: fmt.Errorf("refstore: read stream %q: unexpected answer type %d", stream, f.Type)}
			return
		}
		// The reader reuses f.Body's buffer: keep a copy the payloads alias.
		flags, n, raw, err := wire.DecodeStreamEvents(append([]byte(nil), f.Body...))
		if err != nil {
			ch <- res{err: fmt.Errorf("refstore: read stream %q: %w", stream, err)}
			return
		}
		evs := make([]StreamEvent, 0, n)
		want := from
		for len(raw) > 0 {
			k, pos, _ := record.Verify(raw) // DecodeStreamEvents verified every record
			rec := raw[:k]
			raw = raw[k:]
			ver := binary.LittleEndian.Uint64(rec[16:])
			sl := int(binary.LittleEndian.Uint16(rec[64:]))
			if got := string(rec[record.HeaderSize : record.HeaderSize+sl]); got != stream || ver < want {
				ch <- res{err: fmt.Errorf("refstore: read stream %q: server sent stream %q version %d, want %q version >= %d", stream, got, ver, stream, want)}
				return
			}
			want = ver + 1
			evs = append(evs, StreamEvent{Delivered: decode(rec, pos, types), Version: ver})
		}
		ch <- res{evs: evs, cut: flags&wire.FlagCut != 0}
	}))
	r := <-ch
	return r.evs, r.cut, r.err
}
