package engine

import (
	"encoding/binary"
	"testing"
)

func TestDedupeWindowBounded(t *testing.T) {
	d := newDedupe(10)
	for i := 0; i < 100; i++ {
		d.put([16]byte{byte(i)}, uint64(i))
		if n := len(d.young) + len(d.old); n > 10 {
			t.Fatalf("holds %d IDs, window is 10", n)
		}
	}
	if p, ok := d.get([16]byte{99}); !ok || p != 99 {
		t.Fatal("latest ID forgotten")
	}
	if _, ok := d.get([16]byte{95}); !ok {
		t.Fatal("ID within half a window forgotten")
	}
	if _, ok := d.get([16]byte{0}); ok {
		t.Fatal("ID far outside the window remembered")
	}
}

// TestDedupeFiltersNeverHideAnID: through several generation swaps (the
// maps and Bloom filters are reused), every ID of the last half window is
// found at its position, and new IDs are not.
func TestDedupeFiltersNeverHideAnID(t *testing.T) {
	const window = 1000
	d := newDedupe(window)
	id := func(i uint64) (x [16]byte) {
		binary.LittleEndian.PutUint64(x[:8], i*0x9e3779b97f4a7c15)
		binary.LittleEndian.PutUint64(x[8:], i)
		return x
	}
	for i := uint64(0); i < 5*window; i++ {
		d.put(id(i), i)
		for j := i - min(i, window/2); j <= i; j += 7 {
			if p, ok := d.get(id(j)); !ok || p != j {
				t.Fatalf("after %d puts: ID %d got (%d, %v)", i+1, j, p, ok)
			}
		}
	}
	for i := uint64(10 * window); i < 11*window; i++ {
		if _, ok := d.get(id(i)); ok {
			t.Fatalf("new ID %d found", i)
		}
	}
}

// BenchmarkDedupe: the committer's per-event dedupe work on a full default
// window (1,048,576 IDs): a lookup of a new ID (the common case, a miss in
// both generations) followed by its put.
func BenchmarkDedupe(b *testing.B) {
	d := newDedupe(1 << 20)
	id := func(i uint64) (x [16]byte) {
		binary.BigEndian.PutUint64(x[:8], 0x5eed^i*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(x[8:], i)
		return x
	}
	n := uint64(1 << 20)
	for i := uint64(0); i < n; i++ {
		d.put(id(i), i)
	}
	b.ResetTimer()
	for i := uint64(0); i < uint64(b.N); i++ {
		x := id(n + i)
		if _, ok := d.get(x); ok {
			b.Fatal("new ID found")
		}
		d.put(x, n+i)
	}
}
