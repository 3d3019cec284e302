package chaos

import "github.com/evbench/evbench/reports/measure"

// Touches reports whether an executed fault hit path ("producer" or
// "consumer"); the runner uses it to pick the faults that need a catch-up
// measurement (consumer) or a commit-latency recovery (producer).
func Touches(w measure.FaultWindow, path string) bool {
	return w.Path == path || w.Path == PathBoth
}

// SeriesWindows turns executed faults into plot shading windows labelled
// "<kind> <path>", for result.Series so reports can shade fault periods.
func SeriesWindows(ws []measure.FaultWindow) []measure.Window {
	out := make([]measure.Window, 0, len(ws))
	for _, w := range ws {
		out = append(out, measure.Window{Label: w.Kind + " " + w.Path, StartS: w.AtS, EndS: w.AtS + w.ForS})
	}
	return out
}
