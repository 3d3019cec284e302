package drivertest

import (
	"encoding/binary"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// EncodeBatchSizes are the batch sizes every driver's BenchmarkEncode runs: one event per
// append (the open-loop generator's usual call) and a batch of 100.
var EncodeBatchSizes = []int{1, 100}

// EncodePayloadSize is the payload of every event BenchmarkEncode encodes.
const EncodePayloadSize = 400

// EncodeEvents returns n events built the way the harness's generator
// builds them (runner/source.go, runner/ledger.go): an ID of an 8-byte run
// prefix and a big-endian event number, one key per append ("order-123"),
// consecutive per-key sequence numbers, type "OrderPlaced", every payload
// sharing one 400-byte slice (the harness's payload pool), and CreatedAt a
// current unix-ns time. Every driver's BenchmarkEncode uses it, so their
// figures compare.
func EncodeEvents(n int) []drivers.Event {
	env := `{"id":"0b9e6a3c-4f1d-4c2a-9d8e-7f6a5b4c3d2e","type":"OrderPlaced","version":1,"correlationId":"c0ffee00-0000-4000-8000-000000000001","causationId":"c0ffee00-0000-4000-8000-000000000002","timestamp":"2026-01-01T00:00:00.000000000Z","data":{"note":"`
	payload := []byte(env + strings.Repeat("x", EncodePayloadSize-len(env)-3) + `"}}`)
	evs := make([]drivers.Event, n)
	for i := range evs {
		var id [16]byte
		copy(id[:8], "evbench!")
		binary.BigEndian.PutUint64(id[8:], uint64(1_000_000+i))
		evs[i] = drivers.Event{
			ID:        id,
			Key:       "order-123",
			Seq:       uint64(40_001 + i),
			Type:      "OrderPlaced",
			Payload:   payload,
			CreatedAt: 1_767_225_600_123_456_789 + int64(i)*1000, // 2026-01-01, 19 digits like time.Now().UnixNano()
		}
	}
	return evs
}

// MeasureEncode runs encode (which encodes one batch of events events) in
// the benchmark loop and reports, besides ns/op and allocs/op (per batch),
// ns/event and allocs/event so batch sizes and drivers compare.
func MeasureEncode(b *testing.B, events int, encode func()) {
	b.Helper()
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		encode()
	}
	runtime.ReadMemStats(&after)
	total := float64(b.N) * float64(events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
}

// EncodeEdgeEvents are EncodeEvents(3) and the conformance suite's Events,
// plus the edges an encoder must round-trip: the zero event, an empty key
// and type with a maximal ID and extreme numbers, a long key and type with a
// nil payload, and a non-ASCII key with subject/topic metacharacters.
func EncodeEdgeEvents() []drivers.Event {
	evs := append(EncodeEvents(3), Events(8, 3)...)
	var maxID [16]byte
	for i := range maxID {
		maxID[i] = 0xff
	}
	return append(evs,
		drivers.Event{},
		drivers.Event{ID: maxID, Key: "", Seq: math.MaxUint64, Type: "", Payload: []byte{}, CreatedAt: math.MinInt64},
		drivers.Event{Key: strings.Repeat("k", 300), Seq: 1, Type: strings.Repeat("T", 200), Payload: nil, CreatedAt: math.MaxInt64},
		drivers.Event{Key: "café ✓/a.b*c>", Seq: 99, Type: "Ünïcode", Payload: []byte("{}"), CreatedAt: -1},
	)
}
