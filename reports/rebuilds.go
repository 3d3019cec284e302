package reports

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// RebuildsOK is false when a rebuilt read model's digest differed from
// the live one's (the run fails); true when rebuild modes did not run.
func RebuildsOK(r *measure.Result) bool {
	return r.Rebuilds == nil || r.Rebuilds.DigestOK
}

// RebuildRows are the rebuild comparison's lines for the summary and the
// reports, label and text, none when it did not run:
//
//	rebuild full      P=1 4.02 s (49.8k events/s), P=2 2.11 s (94.8k events/s): speed-up 1.91x
//	rebuild snapshot  P=1 2.03 s (tail of 100k events after 100k restored), ...: 1.98x faster than full
//	rebuild digest    matches the live read model (5 µs projection cost per event, 50k keys)
func RebuildRows(r *measure.Result) [][2]string {
	rb := r.Rebuilds
	if rb == nil {
		return nil
	}
	var rows [][2]string
	for _, mode := range []string{measure.RebuildModeFull, measure.RebuildModeSnapshot} {
		var parts []string
		for _, run := range rb.Runs {
			if run.Mode != mode {
				continue
			}
			s := fmt.Sprintf("P=%d %s s (%s events/s", run.Workers, num(run.Seconds), num(run.EventsPerSec))
			if run.CPUSeconds > 0 && run.Seconds > 0 {
				s += fmt.Sprintf(", %s cores busy", num(run.CPUSeconds/run.Seconds))
			}
			if mode == measure.RebuildModeSnapshot {
				s += fmt.Sprintf(", tail of %d events after %d restored", run.Events, run.RestoredEvents)
			}
			s += ")"
			if !run.DigestOK {
				s += " DIGEST DIFFERS"
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			continue
		}
		text := strings.Join(parts, ", ")
		switch {
		case mode == measure.RebuildModeFull && rb.Speedup > 0:
			text += fmt.Sprintf(": speed-up %sx (P=%d vs P=%d)", num(rb.Speedup), rb.SpeedupWorkers[1], rb.SpeedupWorkers[0])
		case mode == measure.RebuildModeSnapshot && rb.SnapshotSpeedup > 0:
			text += fmt.Sprintf(": %sx faster than full", num(rb.SnapshotSpeedup))
		}
		if mode == measure.RebuildModeSnapshot && rb.Snapshot != nil {
			text += fmt.Sprintf(" (snapshot %s, at %s s)", rb.Snapshot.Trigger, num(rb.Snapshot.AtS))
		}
		rows = append(rows, [2]string{"rebuild " + mode, text})
	}
	verdict := "matches the live read model"
	if !rb.DigestOK {
		verdict = "DIFFERS from the live read model (" + rb.LiveDigest + "): the rebuild is not deterministic"
	}
	rows = append(rows, [2]string{"rebuild digest", fmt.Sprintf("%s (%s µs projection cost per event, %d events over %d keys)",
		verdict, num(rb.ProjectionCostUS), rb.LiveEvents, rb.Keys)})
	return rows
}

// rebuildDigestText is the rebuild digest row's text (junit's rebuild.digest case).
func rebuildDigestText(r *measure.Result) string {
	rows := RebuildRows(r)
	if len(rows) == 0 {
		return ""
	}
	return rows[len(rows)-1][1]
}
