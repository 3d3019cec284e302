package upcast

import (
	"encoding/json"
	"errors"
	"time"
)

// Reader is the decode step of a consumer: it knows, per event type, the
// one version its code handles, and upgrades older events through its
// registry (nil: no upcasters, as a reader deployed before the change).
type Reader struct {
	reg   *Registry
	knows func(typ string) int
}

// NewReader returns a reader that handles version knows(typ) of each type
// and upcasts through reg (nil for none).
func NewReader(reg *Registry, knows func(typ string) int) *Reader {
	return &Reader{reg: reg, knows: knows}
}

// Version is the version of typ the reader handles.
func (r *Reader) Version(typ string) int { return r.knows(typ) }

// Event is a decoded envelope, its data at the reader's version.
type Event struct {
	Type    string
	Version int             // as written ("version" absent: 1)
	Data    json.RawMessage // at the reader's version of Type
	// Upcasts is the number of upcaster steps applied (0: read as written);
	// UpcastTime is the time they took.
	Upcasts    int
	UpcastTime time.Duration
}

type envelopeHead struct {
	Type    string          `json:"type"`
	Version *int            `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// Decode parses payload's envelope ({"type", "version", "data"}), and
// returns its data at the reader's version of the type. An event newer than
// the reader knows, one whose chain misses an upcaster, and a payload that
// is not an envelope are *UnreadableError (see Reason); the Event then
// still names the type and version when they could be read.
func (r *Reader) Decode(payload []byte) (Event, error) {
	var h envelopeHead
	if err := json.Unmarshal(payload, &h); err != nil {
		return Event{}, &UnreadableError{Reason: ReasonMalformed, Err: err}
	}
	ev := Event{Type: h.Type, Version: 1, Data: h.Data}
	if h.Version != nil {
		ev.Version = *h.Version
	}
	switch {
	case h.Type == "":
		return ev, &UnreadableError{Version: ev.Version, Reason: ReasonMalformed, Err: errors.New(`no "type"`)}
	case ev.Version < 1:
		return ev, &UnreadableError{Type: h.Type, Version: ev.Version, Reason: ReasonMalformed, Err: errors.New(`"version" below 1`)}
	case len(h.Data) == 0 || h.Data[0] != '{':
		return ev, &UnreadableError{Type: h.Type, Version: ev.Version, Reason: ReasonMalformed, Err: errors.New(`"data" is not an object`)}
	}
	want := r.knows(h.Type)
	switch {
	case ev.Version > want:
		return ev, &UnreadableError{Type: h.Type, Version: ev.Version, ReaderVersion: want, Reason: ReasonTooNew}
	case ev.Version == want:
		return ev, nil
	}
	t0 := time.Now()
	data, n, err := r.reg.Upcast(h.Type, ev.Version, want, h.Data)
	ev.UpcastTime, ev.Upcasts = time.Since(t0), n
	if err != nil {
		return ev, err
	}
	ev.Data = data
	return ev, nil
}
