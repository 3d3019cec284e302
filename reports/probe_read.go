package reports

import (
	"github.com/evbench/evbench/reports/measure"
	"os"
	"path/filepath"
)

// IsProbe reports whether path is a probe's output (read it with
// measure.ReadProbeResult): a directory holding
// probe.json, or a file named probe.json. A directory holding both
// probe.json and result.json counts as a probe.
func IsProbe(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return filepath.Base(path) == measure.ProbeFileName
	}
	if fi.IsDir() {
		_, err := os.Stat(filepath.Join(path, measure.ProbeFileName))
		return err == nil
	}
	return filepath.Base(path) == measure.ProbeFileName
}
