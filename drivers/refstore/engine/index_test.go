package engine

import "testing"

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
