package httpdriver

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/evbench/evbench/drivers"
)

// This file is the JSON contract between the driver and an HTTP front
// (docs/drivers.md, "HTTP/SSE: your own CQRS front"). The server in
// drivers/http/httpserver uses the same types, and contract_test.go parses
// the doc's examples with them, so the doc, the driver and the reference
// server cannot drift apart.

// Header names of the contract.
const (
	// HeaderExpectedVersion on a command asks the server to append only if
	// the stream is at that version (a 409 otherwise).
	HeaderExpectedVersion = "Expected-Version"
	// HeaderLastEventID is the SSE resume header (the last position seen).
	HeaderLastEventID = "Last-Event-ID"
)

// WireEvent is one event on the wire: the body of a command, an element of
// a batch or poll array, and the data of a server-sent event (then with
// Position).
//
// The payload travels as JSON when it is JSON (Payload, byte for byte) and
// as standard base64 otherwise (PayloadBase64); neither means an empty
// payload. ID is 32 hex digits (base64 of the 16 bytes is accepted too).
type WireEvent struct {
	ID            string          `json:"id"`
	Key           string          `json:"key"`
	Seq           uint64          `json:"seq"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	PayloadBase64 *string         `json:"payload_base64,omitempty"`
	CreatedAt     int64           `json:"created_at"`
	// Position is the event's 0-based place in the server's log, on query
	// output only. Absent: the driver numbers events from the from= it
	// asked for.
	Position *int64 `json:"position,omitempty"`
}

// AppendResponse is the optional body of a 2xx answer to a command or a
// batch: Position for one event, Positions (in request order) for a batch.
// An answer without them still means committed; Append then reports
// offset -1 (unknown) for those events.
type AppendResponse struct {
	Position  *int64  `json:"position,omitempty"`
	Positions []int64 `json:"positions,omitempty"`
}

// ErrorResponse is the body of a non-2xx answer; Actual is the stream's
// version on a 409 when the server knows it.
type ErrorResponse struct {
	Error  string  `json:"error"`
	Actual *uint64 `json:"actual,omitempty"`
}

// HeadResponse is the body of GET /head: the next position, i.e. the number
// of events committed to the log.
type HeadResponse struct {
	Head int64 `json:"head"`
}

// VersionResponse is the body of GET on a stream URL: the stream's version
// (its number of events; 0 for a stream never written).
type VersionResponse struct {
	Key     string `json:"key"`
	Version uint64 `json:"version"`
}

// Info is the body of GET /info, every field optional: what the server
// promises. A server without /info (404) promises nothing: durability
// unknown, no batch endpoint, no expected version, no dedupe.
type Info struct {
	// AckAfterFsync is "true", "false" or "unknown" (drivers.Durability).
	AckAfterFsync string `json:"ack_after_fsync,omitempty"`
	Replication   string `json:"replication,omitempty"`
	Detail        string `json:"detail,omitempty"`
	// BatchPath is where several events are POSTed at once (a JSON array),
	// all-or-nothing; empty: one request per event.
	BatchPath string `json:"batch_path,omitempty"`
	// ExpectedVersion: commands honour the Expected-Version header (409 on
	// a stale version) and GET on a stream URL returns its version.
	ExpectedVersion bool `json:"expected_version,omitempty"`
	// DedupeByID: a retried event ID is not stored twice and the answer
	// carries the original position.
	DedupeByID bool `json:"dedupe_by_id,omitempty"`
}

// rawPayload reports whether p can travel as a JSON value byte for byte:
// valid JSON, no surrounding whitespace (a decoder drops it) and no line
// breaks (an SSE data line ends at one).
func rawPayload(p []byte) bool {
	if len(p) == 0 || bytes.ContainsAny(p, "\r\n") {
		return false
	}
	if t := bytes.TrimSpace(p); len(t) != len(p) {
		return false
	}
	return json.Valid(p)
}

// AppendEventJSON appends e as one line of contract JSON, with position
// when pos >= 0. It writes the payload verbatim (encoding/json would
// compact and re-escape it, breaking the byte-for-byte round trip).
func AppendEventJSON(dst []byte, e *drivers.Event, pos int64) []byte {
	dst = append(dst, `{"id":"`...)
	dst = hex.AppendEncode(dst, e.ID[:])
	dst = append(dst, `","key":`...)
	dst = appendString(dst, e.Key)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	switch {
	case rawPayload(e.Payload):
		dst = append(dst, `,"payload":`...)
		dst = append(dst, e.Payload...)
	case len(e.Payload) > 0:
		dst = append(dst, `,"payload_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, e.Payload)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"created_at":`...)
	dst = strconv.AppendInt(dst, e.CreatedAt, 10)
	if pos >= 0 {
		dst = append(dst, `,"position":`...)
		dst = strconv.AppendInt(dst, pos, 10)
	}
	return append(dst, '}')
}

// appendString appends s as a JSON string (encoding/json's escaping).
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// Event converts w to the harness's event, checking the ID and payload.
func (w *WireEvent) Event() (drivers.Event, error) {
	e := drivers.Event{Key: w.Key, Seq: w.Seq, Type: w.Type, CreatedAt: w.CreatedAt}
	id, err := ParseID(w.ID)
	if err != nil {
		return e, err
	}
	e.ID = id
	switch {
	case w.PayloadBase64 != nil:
		p, err := base64.StdEncoding.DecodeString(*w.PayloadBase64)
		if err != nil {
			return e, fmt.Errorf("event %s: payload_base64: %v", w.ID, err)
		}
		e.Payload = p
	case len(w.Payload) > 0:
		e.Payload = bytes.Clone(w.Payload)
	}
	return e, nil
}

// ParseID reads an event ID: 32 hex digits, or standard base64 of 16 bytes.
func ParseID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) == 32 {
		if _, err := hex.Decode(id[:], []byte(s)); err == nil {
			return id, nil
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 16 {
		copy(id[:], b)
		return id, nil
	}
	return id, fmt.Errorf("event id %q: want 32 hex digits (or base64 of 16 bytes)", s)
}

// DecodeEvent parses one event of contract JSON.
func DecodeEvent(data []byte) (drivers.Event, *int64, error) {
	var w WireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return drivers.Event{}, nil, fmt.Errorf("event JSON: %v", err)
	}
	e, err := w.Event()
	return e, w.Position, err
}

// EncodeBatch encodes events as a JSON array (a batch request or a poll
// answer); positions, when not nil, go with them.
func EncodeBatch(dst []byte, batch []drivers.Event, positions []int64) []byte {
	dst = append(dst, '[')
	for i := range batch {
		if i > 0 {
			dst = append(dst, ',')
		}
		pos := int64(-1)
		if positions != nil {
			pos = positions[i]
		}
		dst = AppendEventJSON(dst, &batch[i], pos)
	}
	return append(dst, ']')
}
