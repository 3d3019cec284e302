package record

import (
	"bytes"
	"errors"
	"testing"
)

func sample() Record {
	return Record{Position: 7, StreamVersion: 3, Timestamp: 11, ID: [16]byte{1, 2, 3}, Seq: 4,
		CreatedAt: 99, Stream: "order-17", Type: "OrderPlaced", Payload: []byte(`{"a":1}`)}
}

func TestRoundTrip(t *testing.T) {
	r := sample()
	b := Append(nil, &r)
	if len(b) != r.Size() {
		t.Fatalf("size %d, want %d", len(b), r.Size())
	}
	got, n, err := Decode(b)
	if err != nil || n != len(b) {
		t.Fatalf("decode: n=%d err=%v", n, err)
	}
	if got.Stream != r.Stream || got.Type != r.Type || !bytes.Equal(got.Payload, r.Payload) ||
		got.ID != r.ID || got.Seq != r.Seq || got.CreatedAt != r.CreatedAt || got.Position != r.Position ||
		got.StreamVersion != r.StreamVersion || got.Timestamp != r.Timestamp {
		t.Fatalf("round trip: got %+v want %+v", got, r)
	}
}

func TestVerifyErrors(t *testing.T) {
	r := sample()
	good := Append(nil, &r)
	flip := append([]byte(nil), good...)
	flip[len(flip)-1] ^= 1
	huge := append([]byte(nil), good...)
	huge[3] = 0xff
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrZero},
		{"zeros", make([]byte, 100), ErrZero},
		{"short prefix", good[:5], ErrShort},
		{"cut body", good[:len(good)-1], ErrShort},
		{"flipped payload", flip, ErrCorrupt},
		{"huge length", huge, ErrCorrupt},
	}
	for _, c := range cases {
		if _, _, err := Verify(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	r := sample()
	f.Add(Append(nil, &r))
	f.Add([]byte{})
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, n, err := Decode(b)
		if err != nil {
			return
		}
		if n > len(b) || n < HeaderSize {
			t.Fatalf("n=%d len=%d", n, len(b))
		}
		again := Append(nil, &rec)
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encode differs")
		}
	})
}
