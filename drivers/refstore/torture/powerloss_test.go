package torture

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/drivers/refstore/engine"
)

// TestPowerLossAlways: under sync=always no acknowledged event is lost
// across simulated power cuts, and the cuts did produce the cases recovery
// must handle (torn tails, holes with valid records after them).
func TestPowerLossAlways(t *testing.T) {
	var out strings.Builder
	res, err := RunPowerLoss(PowerConfig{Cycles: 150, Sync: engine.SyncAlways, Seed: 1, Out: &out})
	t.Log("\n" + out.String() + res.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("power-loss torture failed: %s", res)
	}
	if res.Acked == 0 || res.Cycles != 150 {
		t.Fatalf("proved nothing: %s", res)
	}
}

// TestPowerLossNoneLoses: the same torture under sync=none must report
// losses, or the check could not tell a durable store from a broken one.
func TestPowerLossNoneLoses(t *testing.T) {
	res, err := RunPowerLoss(PowerConfig{Cycles: 50, Sync: engine.SyncNone, Seed: 1})
	t.Log(res.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost == 0 {
		t.Fatalf("sync=none lost nothing: the check cannot fail: %s", res)
	}
	if res.Refused != 0 {
		t.Fatalf("recovery refused: %s", res)
	}
}
