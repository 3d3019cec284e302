package reports

import (
	"fmt"

	"github.com/evbench/evbench/reports/measure"
)

// EmulatedText is the warning every report prints for a run against an
// emulator or fake of a cloud service: the delivery check and the counts
// hold, the latencies are those of a local process, not of the service.
const EmulatedText = "EMULATED: this run talked to an emulator or fake of the cloud service, not the service itself; latency figures are not meaningful"

// Emulated reports whether r ran against an emulator (driver.emulated).
func Emulated(r *measure.Result) bool { return r.Driver.Emulated }

// emulatedWarnings warns in a comparison for each emulated run.
func emulatedWarnings(names []string, rs []*measure.Result) []string {
	var out []string
	for i, r := range rs {
		if Emulated(r) {
			out = append(out, fmt.Sprintf("WARNING: %s ran against an emulator (driver.emulated): its latency figures are not meaningful and must not be compared", names[i]))
		}
	}
	return out
}
