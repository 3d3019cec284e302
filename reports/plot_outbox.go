package reports

import (
	"github.com/evbench/evbench/reports/measure"
	"gonum.org/v1/plot"
)

// relayLagPlot is the outbox relays' lag per second (committed row ->
// published), shaded with the faults: a producer-path fault shows as lag
// growing, then catching up. nil without an outbox.
func relayLagPlot(r *measure.Result) (*plot.Plot, error) {
	s := r.Series.Outbox
	if s == nil || !hasData(s.RelayLagP50, s.RelayLagP99, s.RelayLagMax, s.OldestUnsentMS) {
		return nil, nil
	}
	p := newPlot("Outbox relay lag per second (committed -> published)", "time since start (s)", "relay lag (ms)")
	p.Y.Min = 0
	withShades(p, timeWindows(r, false))
	addLine(p, "p50", s.T, s.RelayLagP50, 0, true)
	addLine(p, "p99", s.T, s.RelayLagP99, 1, true)
	addLine(p, "max", s.T, s.RelayLagMax, 2, true)
	// The oldest unsent row's age grows while nothing is published (when
	// no lag is recorded), and falls as the relays catch up.
	addLine(p, "oldest unsent row", s.BacklogT, s.OldestUnsentMS, 3, false)
	headroom(p)
	fromZero(p)
	return p, nil
}
