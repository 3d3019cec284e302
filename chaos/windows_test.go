package chaos

import (
	"testing"

	"github.com/evbench/evbench/reports/measure"
)

func TestTouchesAndSeriesWindows(t *testing.T) {
	ws := []measure.FaultWindow{
		{Kind: "partition", Path: "consumer", AtS: 10, ForS: 5},
		{Kind: "reset", Path: "both", AtS: 20, ForS: 1.5},
		{Kind: "latency", Path: "producer", AtS: 1, ForS: 2},
	}
	wantCons := []bool{true, true, false}
	wantProd := []bool{false, true, true}
	for i, w := range ws {
		if Touches(w, PathConsumer) != wantCons[i] || Touches(w, PathProducer) != wantProd[i] {
			t.Errorf("Touches(%s on %s) wrong", w.Kind, w.Path)
		}
	}
	sw := SeriesWindows(ws)
	if len(sw) != 3 || sw[1].Label != "reset both" || sw[1].StartS != 20 || sw[1].EndS != 21.5 {
		t.Fatalf("SeriesWindows = %+v", sw)
	}
}
