package scenarios

import (
	"fmt"

	"github.com/evbench/evbench/fixtures/envelope"
)

// Payload modes (events.payload).
const (
	PayloadEnvelope = "envelope"
	PayloadRandom   = "random"
)

// Payload limits, documented in docs/scenarios.md.
const (
	// MinRandomSize is the smallest events.size.min for payload: random.
	// Below it a run measures little but per-message framing, and peer
	// tools' smallest common sizes are larger anyway.
	MinRandomSize = 16
	// MaxPayloadPool bounds events.payload_pool: more distinct payloads
	// than that no longer changes what a store sees, only start-up time.
	MaxPayloadPool = 1 << 20
	// MaxPayloadPoolBytes bounds payload_pool x size.max, the memory the
	// pool may hold, so a typo cannot take the host's memory.
	MaxPayloadPoolBytes = 1 << 30
)

// PayloadModes lists the valid events.payload values.
func PayloadModes() []string { return []string{PayloadEnvelope, PayloadRandom} }

// EnvelopeFloor is the smallest exact envelope size, in bytes, that every
// one of types (the default catalogue when empty) can be rendered at, and
// the type that sets it. It comes from the same tables the fixtures package
// renders with, so validation and generation cannot disagree.
func EnvelopeFloor(types []string) (bytes int, typ string) { return envelope.MaxFloor(types) }

// Issue is one problem with a scenario field: its path and "problem; fix".
type Issue struct {
	Path, Problem string
}

// CheckPayload checks what the payload generator depends on (events.size,
// payload, random_ratio, payload_pool) without touching the file system.
// Validate reports these with file and line; fixtures.NewPool refuses the
// same problems for scenarios built in Go, so the two never disagree.
func CheckPayload(e Events) []Issue {
	var out []Issue
	add := func(path, format string, args ...any) {
		out = append(out, Issue{path, fmt.Sprintf(format, args...)})
	}
	mode := e.Payload
	if mode == "" {
		mode = DefaultPayload
	}
	if mode != PayloadEnvelope && mode != PayloadRandom {
		add("events.payload", "unknown payload %q; use envelope (realistic JSON) or random (exact-size bytes)", e.Payload)
		return out
	}
	if e.Fixture != "" {
		if mode == PayloadRandom {
			add("events.payload", "random cannot be combined with events.fixture (the fixture's entries are the payloads); remove one of them")
		}
		return out // sizes, ratio and pool size do not apply to a fixture
	}
	sz := e.Size
	if sz.Min < 0 {
		add("events.size.min", "%d is negative; write bytes >= 0, e.g. 200", sz.Min)
	}
	if sz.Max < 0 {
		add("events.size.max", "%d is negative; write bytes, e.g. 2000", sz.Max)
	}
	if sz.Max > MaxPayloadPoolBytes {
		add("events.size.max", "%d is more than the 1 GiB a payload pool may hold; write a smaller size, e.g. 1048576", sz.Max)
	}
	if sz.Min > sz.Max {
		add("events.size.min", "%d is larger than max %d; swap them or raise max", sz.Min, sz.Max)
	}
	if sz.Min >= 0 {
		switch mode {
		case PayloadRandom:
			if sz.Min < MinRandomSize {
				add("events.size.min", "%d is too small for payload: random (minimum %d bytes); write %d or more", sz.Min, MinRandomSize, MinRandomSize)
			}
		case PayloadEnvelope:
			if floor, typ := EnvelopeFloor(e.Types); sz.Min < floor {
				add("events.size.min", "%d is below the envelope floor, %d bytes (the smallest exact %s envelope); write %d or more, or set events.payload: random for exact sizes down to %d bytes",
					sz.Min, floor, typ, floor, MinRandomSize)
			}
		}
	}
	// Checked in envelope mode too (where it is unused): a value outside
	// [0,1] is a mistake wherever it is written.
	if !(e.RandomRatio >= 0 && e.RandomRatio <= 1) {
		add("events.random_ratio", "%s is outside [0,1]; write the fraction of each payload's bytes that are random, e.g. 1 (incompressible) or 0.25", fmtRate(e.RandomRatio))
	}
	switch n := e.PayloadPool; {
	case n < 1:
		add("events.payload_pool", "%d; need at least 1 distinct payload (default %d)", n, DefaultPayloadPool)
	case n > MaxPayloadPool:
		add("events.payload_pool", "%d is too big; use at most %d (default %d)", n, MaxPayloadPool, DefaultPayloadPool)
	case sz.Max > 0 && sz.Max <= MaxPayloadPoolBytes && int64(n)*int64(sz.Max) > MaxPayloadPoolBytes:
		add("events.payload_pool", "%d payloads of up to %d bytes could hold %d MiB; keep payload_pool x size.max <= %d MiB, e.g. payload_pool: %d",
			n, sz.Max, (int64(n)*int64(sz.Max))>>20, MaxPayloadPoolBytes>>20, max(1, MaxPayloadPoolBytes/sz.Max))
	}
	return out
}
