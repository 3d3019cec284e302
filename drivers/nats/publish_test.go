package nats

import (
	"encoding/hex"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// toMsgV0 is toMsg as it was before it packed the header values (11
// allocations per message): the reference the packed one must match.
func (d *Driver) toMsgV0(ev *drivers.Event) *nats.Msg {
	subj, exact := subjectFor(d.cfg.prefix(), ev.Key)
	h := nats.Header{
		nats.MsgIdHdr: {hex.EncodeToString(ev.ID[:])},
		hSeq:          {strconv.FormatUint(ev.Seq, 10)},
		hType:         {ev.Type},
		hCreatedAt:    {strconv.FormatInt(ev.CreatedAt, 10)},
	}
	if !exact {
		h[hKey] = []string{ev.Key}
	}
	return &nats.Msg{Subject: subj, Header: h, Data: ev.Payload}
}

// headerLines renders h the way nats.go writes a header block, one
// "key: value" line per value, sorted (nats.go writes them in map order,
// which is random before and after the change alike).
func headerLines(h nats.Header) []string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return lines
}

func msgTestEvents() []drivers.Event { return drivertest.EncodeEdgeEvents() }

// TestToMsgMatchesV0 proves the packed toMsg produces the same message as
// before: subject, data and every header value (what PublishMsgAsync
// serialises), for clean and sanitised keys.
func TestToMsgMatchesV0(t *testing.T) {
	cfg, err := ParseDSN("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	d := &Driver{cfg: cfg}
	sawKeyHeader := false
	for i, ev := range msgTestEvents() {
		got, want := d.toMsg(&ev), d.toMsgV0(&ev)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d (%+v):\n got %+v\nwant %+v", i, ev, got, want)
		}
		if g, w := headerLines(got.Header), headerLines(want.Header); !reflect.DeepEqual(g, w) {
			t.Fatalf("event %d: header block\n got %q\nwant %q", i, g, w)
		}
		_, sanitised := got.Header[hKey]
		sawKeyHeader = sawKeyHeader || sanitised
	}
	if !sawKeyHeader {
		t.Fatal("no test event had a sanitised key: the Evbench-Key header went untested")
	}
}

// TestToMsgHeaderSlicesAreSeparate: the header values share one array;
// Add on one header must never overwrite the next.
func TestToMsgHeaderSlicesAreSeparate(t *testing.T) {
	cfg, _ := ParseDSN("nats://127.0.0.1:4222")
	d := &Driver{cfg: cfg}
	ev := msgTestEvents()[len(msgTestEvents())-1] // sanitised key: all five headers
	m := d.toMsg(&ev)
	want := d.toMsgV0(&ev)
	for k := range want.Header {
		_ = append(m.Header[k], "extra") // what Header.Add does, without storing
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("an append changed the message:\n got %+v\nwant %+v", m, want)
	}
}
