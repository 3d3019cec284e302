package httpdriver

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// TestContractRoundTrip: every payload kind survives encode and decode byte
// for byte, and only JSON without line breaks or outer spaces travels raw.
func TestContractRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		raw     bool
	}{
		{"json object", []byte(`{"a":1,"b":[true,null]}`), true},
		{"json with inner spaces", []byte(`{ "a" : "x<y>&" }`), true},
		{"json null", []byte(`null`), true},
		{"json string", []byte(`"just a string"`), true},
		{"pretty json", []byte("{\n  \"a\": 1\n}"), false},
		{"outer space", []byte(` {"a":1}`), false},
		{"binary", []byte{0, 1, 2, 0xff, '\n'}, false},
		{"text", []byte("not json"), false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := drivers.Event{ID: [16]byte{1, 2, 3, 15: 0xee}, Key: "k/ü\"", Seq: 7, Type: "T<1>", Payload: tc.payload, CreatedAt: -5}
			b := AppendEventJSON(nil, &e, 42)
			if bytes.ContainsAny(b, "\r\n") {
				t.Fatalf("encoded event has a line break (breaks an SSE data line): %s", b)
			}
			if got := bytes.Contains(b, []byte(`"payload":`)); got != tc.raw {
				t.Fatalf("raw payload = %v, want %v: %s", got, tc.raw, b)
			}
			got, pos, err := DecodeEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			if pos == nil || *pos != 42 {
				t.Fatalf("position = %v, want 42", pos)
			}
			if got.ID != e.ID || got.Key != e.Key || got.Seq != e.Seq || got.Type != e.Type || got.CreatedAt != e.CreatedAt || !bytes.Equal(got.Payload, e.Payload) {
				t.Fatalf("round trip:\n got  %+v\n want %+v\n wire %s", got, e, b)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	want := [16]byte{0xde, 0xad, 15: 1}
	for _, s := range []string{"dead0000000000000000000000000001", "3q0AAAAAAAAAAAAAAAAAAQ=="} {
		id, err := ParseID(s)
		if err != nil || id != want {
			t.Errorf("ParseID(%q) = %x, %v; want %x", s, id, err, want)
		}
	}
	for _, s := range []string{"", "dead", "zz00000000000000000000000000000z", "AAAA"} {
		if _, err := ParseID(s); err == nil {
			t.Errorf("ParseID(%q): no error", s)
		}
	}
}

// docExample is one fenced example of the contract section of
// docs/drivers.md: <!-- contract:NAME --> then a ```json block.
var docExample = regexp.MustCompile("(?s)<!-- contract:([a-z-]+) -->\\s*```(?:json|text)\\n(.*?)```")

// TestDocExamplesParse keeps docs/drivers.md honest: every example body of
// the HTTP contract parses with the driver's types into what the doc says.
func TestDocExamplesParse(t *testing.T) {
	doc, err := os.ReadFile("../../docs/drivers.md")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, m := range docExample.FindAllSubmatch(doc, -1) {
		found[string(m[1])] = string(m[2])
	}
	strict := func(name string, v any) {
		t.Helper()
		body, ok := found[name]
		if !ok {
			t.Fatalf("docs/drivers.md has no <!-- contract:%s --> example", name)
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("doc example %s does not parse with the driver's types: %v\n%s", name, err, body)
		}
	}
	var cmd WireEvent
	strict("command", &cmd)
	e, err := cmd.Event()
	if err != nil || e.Seq != 3 || e.Key != "order-17" || !json.Valid(e.Payload) {
		t.Fatalf("doc command example: %+v, %v", e, err)
	}
	var b64 WireEvent
	strict("command-binary", &b64)
	if e, err := b64.Event(); err != nil || string(e.Payload) != "hello" {
		t.Fatalf("doc binary example: payload %q, %v (want hello)", e.Payload, err)
	}
	var ok AppendResponse
	strict("committed", &ok)
	if ok.Position == nil {
		t.Fatal("doc committed example has no position")
	}
	var batchOK AppendResponse
	strict("batch-committed", &batchOK)
	if len(batchOK.Positions) != 2 {
		t.Fatalf("doc batch example: %d positions, want 2", len(batchOK.Positions))
	}
	var batch []WireEvent
	strict("batch", &batch)
	if len(batch) != 2 {
		t.Fatalf("doc batch request: %d events, want 2", len(batch))
	}
	var conflict ErrorResponse
	strict("conflict", &conflict)
	if conflict.Actual == nil {
		t.Fatal("doc conflict example has no actual version")
	}
	var head HeadResponse
	strict("head", &head)
	var ver VersionResponse
	strict("version", &ver)
	var info Info
	strict("info", &info)
	if info.AckAfterFsync != "true" || info.BatchPath == "" {
		t.Fatalf("doc info example: %+v", info)
	}
	var page []WireEvent
	strict("poll", &page)
	if len(page) == 0 || page[0].Position == nil {
		t.Fatal("doc poll example: want events with positions")
	}
	sse, ok2 := found["sse"]
	if !ok2 {
		t.Fatal("docs/drivers.md has no <!-- contract:sse --> example")
	}
	r := newSSEReader(strings.NewReader(sse))
	n := 0
	for {
		ev, err := r.next()
		if err != nil {
			break
		}
		got, pos, err := DecodeEvent(ev.data)
		if err != nil {
			t.Fatalf("doc SSE event %d: %v", n, err)
		}
		if pos == nil || ev.id == "" || got.Key == "" || got.Seq == 0 {
			t.Fatalf("doc SSE event %d must carry id, key, seq, position: %+v", n, got)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("doc SSE example: %d events, want 2", n)
	}
}
