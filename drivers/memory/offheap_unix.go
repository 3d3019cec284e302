//go:build unix

package memory

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// offHeap hands out the store's event chunks from anonymous memory maps
// outside the Go heap. Slots hold no pointers, so the garbage collector has
// nothing to find there, and a store growing by ~50 MB/s at 1M events/s no
// longer paces GC cycles whose mark workers delayed the generator by
// milliseconds. The maps are released when the store becomes unreachable
// (runtime.AddCleanup); nothing outside the store points into them, since
// Subscribe copies every field out.
type offHeap struct {
	mu      sync.Mutex
	regions [][]byte
}

func (o *offHeap) chunk() []slot {
	size := chunkSize * int(unsafe.Sizeof(slot{}))
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]slot, chunkSize) // fall back to the heap
	}
	o.mu.Lock()
	o.regions = append(o.regions, b)
	o.mu.Unlock()
	return unsafe.Slice((*slot)(unsafe.Pointer(unsafe.SliceData(b))), chunkSize)
}

func (o *offHeap) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, b := range o.regions {
		_ = unix.Munmap(b)
	}
	o.regions = nil
}
