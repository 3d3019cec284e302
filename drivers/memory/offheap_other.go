//go:build !unix

package memory

// offHeap falls back to the Go heap where anonymous maps are not available.
type offHeap struct{}

func (o *offHeap) chunk() []slot { return make([]slot, chunkSize) }

func (o *offHeap) release() {}
