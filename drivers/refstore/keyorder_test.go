package refstore

import (
	"testing"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// TestKeyOrderManyConns: with conns=4, a key's appends stay in submission
// order while many of them are in flight at once, through AppendAsync and
// Append alike. Spreading appends round robin over the connections (as the
// driver once did) fails it: a key's frames then race each other to the
// committer on different connections.
func TestKeyOrderManyConns(t *testing.T) {
	d := open(t, embed(t).DSN()+"?conns=4")
	n := drivertest.CheckKeyOrder(t, d, drivertest.KeyOrderLoad{Keys: 4, Goroutines: 32, Appends: 400, InFlight: 512})
	if !t.Failed() {
		t.Logf("conns=4: %d events over 4 keys kept per-key order", n)
	}
}

// TestConformanceManyConns runs the suite with conns=4: its batches hold
// several keys each, so they exercise the ordering of batches whose keys
// span connections too.
func TestConformanceManyConns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: TestConformance covers conns=1, TestKeyOrderManyConns the routing")
	}
	drivertest.Run(t, func(t *testing.T) drivers.Driver {
		return open(t, embed(t).DSN()+"?conns=4")
	})
}
