package upcast

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/evbench/evbench/fixtures/envelope"
)

func render(t testing.TB, typ string, v, size int) []byte {
	t.Helper()
	tpl, err := envelope.NewVersion(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tpl.Append(nil, rand.New(rand.NewPCG(uint64(v), 7)), size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func catalogue(t testing.TB) *Registry {
	t.Helper()
	r, err := Catalogue(envelope.DefaultTypes)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func data(t *testing.T, raw json.RawMessage) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("data %s: %v", raw, err)
	}
	return m
}

// TestChainV1ToV3: the current reader reads every version of OrderPlaced
// at v3: v1 takes two steps (couponCode added as null, customerId renamed
// buyerId, value kept), v2 one, v3 none.
func TestChainV1ToV3(t *testing.T) {
	reg := catalogue(t)
	if got := strings.Join(reg.Steps(), ","); got != "OrderPlaced v1->v2,OrderPlaced v2->v3" {
		t.Fatalf("steps %s", got)
	}
	rd := NewReader(reg, Newest)
	for v, steps := range map[int]int{1: 2, 2: 1, 3: 0} {
		payload := render(t, "OrderPlaced", v, 1000)
		orig := data(t, []byte(payload[strings.Index(string(payload), `"data":`)+7:len(payload)-1]))
		ev, err := rd.Decode(payload)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if ev.Type != "OrderPlaced" || ev.Version != v || ev.Upcasts != steps || (steps > 0) != (ev.UpcastTime > 0) {
			t.Fatalf("v%d: %+v", v, ev)
		}
		got := data(t, ev.Data)
		if _, ok := got["customerId"]; ok || got["buyerId"] == nil || got["couponCode"] == nil {
			t.Fatalf("v%d read at v3 lacks v3's shape: %s", v, ev.Data)
		}
		if v < 3 && string(got["buyerId"]) != string(orig["customerId"]) {
			t.Errorf("v%d: buyerId %s, want the old customerId %s", v, got["buyerId"], orig["customerId"])
		}
		if v == 1 && string(got["couponCode"]) != "null" {
			t.Errorf("v1: couponCode %s, want null", got["couponCode"])
		}
		if v == 2 && string(got["couponCode"]) != string(orig["couponCode"]) {
			t.Errorf("v2: couponCode %s changed from %s", got["couponCode"], orig["couponCode"])
		}
		if string(got["sku"]) != string(orig["sku"]) || string(got["notes"]) != string(orig["notes"]) {
			t.Errorf("v%d: untouched fields changed", v)
		}
	}
	// A type with one version is read as written.
	if ev, err := rd.Decode(render(t, "PaymentCaptured", 1, 300)); err != nil || ev.Upcasts != 0 {
		t.Fatalf("PaymentCaptured: %+v %v", ev, err)
	}
}

// TestUnreadable: each way an event cannot be read is a typed error.
func TestUnreadable(t *testing.T) {
	reg := catalogue(t)
	gap := NewRegistry() // v2->v3 only: v1 has no way up
	up, _ := FromChanges(envelope.Changes("OrderPlaced", 3))
	if err := gap.Register("OrderPlaced", 2, up); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		rd      *Reader
		payload []byte
		reason  Reason
		msg     string
	}{
		{"v2 at a v1 canary", NewReader(nil, UpTo(1)), render(t, "OrderPlaced", 2, 300), ReasonTooNew, "OrderPlaced v2 is newer than this reader's v1"},
		{"v3 at a v1 reader with upcasters", NewReader(reg, UpTo(1)), render(t, "OrderPlaced", 3, 300), ReasonTooNew, "v3 is newer"},
		{"v4 at the current reader", NewReader(reg, Newest), []byte(`{"type":"OrderPlaced","version":4,"data":{}}`), ReasonTooNew, "v4 is newer than this reader's v3"},
		{"v1 at a v3 reader without upcasters", NewReader(nil, Newest), render(t, "OrderPlaced", 1, 300), ReasonNoUpcaster, "no upcaster v1->v2"},
		{"v1 with a gap in the chain", NewReader(gap, Newest), render(t, "OrderPlaced", 1, 300), ReasonNoUpcaster, "no upcaster v1->v2"},
		{"not JSON", NewReader(reg, Newest), []byte(`{"type":`), ReasonMalformed, "malformed"},
		{"no type", NewReader(reg, Newest), []byte(`{"version":1,"data":{}}`), ReasonMalformed, `no "type"`},
		{"data not an object", NewReader(reg, Newest), []byte(`{"type":"OrderPlaced","data":[1]}`), ReasonMalformed, `"data" is not an object`},
		{"version 0", NewReader(reg, Newest), []byte(`{"type":"OrderPlaced","version":0,"data":{}}`), ReasonMalformed, "below 1"},
		{"upcaster fails", NewReader(reg, Newest), []byte(`{"type":"OrderPlaced","version":1,"data":{"a":}}`), ReasonMalformed, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rd.Decode(tc.payload)
			var ue *UnreadableError
			if !errors.As(err, &ue) || ue.Reason != tc.reason || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v (%+v), want %s containing %q", err, ue, tc.reason, tc.msg)
			}
		})
	}
	// The canary reads its own version, and a missing "version" means 1.
	if ev, err := NewReader(nil, UpTo(1)).Decode([]byte(`{"type":"OrderPlaced","data":{"orderId":"o"}}`)); err != nil || ev.Version != 1 {
		t.Fatalf("v1 at the canary: %+v %v", ev, err)
	}
}

func TestRegisterErrors(t *testing.T) {
	r := NewRegistry()
	id := func(b []byte) ([]byte, error) { return b, nil }
	if err := r.Register("A", 1, id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  string
		from int
		u    Upcaster
		want string
	}{
		{"A", 1, id, "already registered"},
		{"A", 0, id, "versions start at 1"},
		{"", 1, id, "empty event type"},
		{"B", 1, nil, "nil upcaster"},
	} {
		if err := r.Register(tc.typ, tc.from, tc.u); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%q, %d): %v, want %q", tc.typ, tc.from, err, tc.want)
		}
	}
	if _, err := FromChanges([]envelope.Change{{Kind: "drop", Field: "x"}}); err == nil {
		t.Error("unknown change kind accepted")
	}
	if _, err := FromChanges([]envelope.Change{{Kind: envelope.ChangeAdd, Field: "x", Default: "nul"}}); err == nil {
		t.Error("a default that is not JSON accepted")
	}
}

func TestStats(t *testing.T) {
	s := NewStats()
	rd := NewReader(catalogue(t), Newest)
	for _, v := range []int{1, 1, 2, 3} {
		s.Observe(rd.Decode(render(t, "OrderPlaced", v, 300)))
	}
	s.Observe(rd.Decode([]byte(`{"type":"OrderPlaced","version":9,"data":{}}`)))
	if s.Upcast != 3 || s.Steps != 5 || Total(s.Read) != 4 || s.Read[TypeVersion{"OrderPlaced", 1}] != 2 ||
		s.Unreadable[TypeVersion{"OrderPlaced", 9}] != 1 || s.Reasons[ReasonTooNew] != 1 {
		t.Fatalf("stats %+v", s)
	}
	if mean, p99, mx := s.CostNS(); !(mean > 0 && p99 >= mean/2 && mx >= p99) {
		t.Fatalf("cost mean %v p99 %v max %v", mean, p99, mx)
	}
	if got := Sorted(s.Read); len(got) != 3 || got[0].Version != 1 || got[2].Version != 3 {
		t.Fatalf("sorted %+v", got)
	}
	if m, _, _ := NewStats().CostNS(); m != 0 {
		t.Fatal("empty cost")
	}
}

// BenchmarkDecode is a reader's per-event cost: as written vs upcast.
func BenchmarkDecode(b *testing.B) {
	rd := NewReader(catalogue(b), Newest)
	for _, v := range []int{3, 2, 1} {
		p := render(b, "OrderPlaced", v, 500)
		b.Run("OrderPlaced-v"+string(rune('0'+v))+"-to-v3", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rd.Decode(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
