package measure

import "fmt"

// The thresholds beyond which the harness, not the store, set the figures.
const (
	ClientSendDelayP99MS = 1.0   // scheduled -> handed to the driver
	ClientLateFraction   = 0.001 // events sent more than 5 ms late
	ClientCPUPercent     = 90.0  // of all cores
)

// JudgeClient builds the client verdict: limited when the send-delay p99
// exceeds 1 ms, more than 0.1 % of events were late, or the process used 90 %
// or more of the machine's cores; each reason says which and by how much.
func JudgeClient(cpuPercent, sendDelayP99MS, lateFraction float64) Client {
	c := Client{CPUPercent: cpuPercent, SendDelayP99MS: sendDelayP99MS, LateFraction: lateFraction, Reasons: []string{}}
	if sendDelayP99MS > ClientSendDelayP99MS {
		c.Reasons = append(c.Reasons, fmt.Sprintf("send delay p99 %.3g ms > %g ms: the generator could not send on time", sendDelayP99MS, ClientSendDelayP99MS))
	}
	if lateFraction > ClientLateFraction {
		c.Reasons = append(c.Reasons, fmt.Sprintf("%.3g%% of events late > %g%%: the in-flight window or the generator was the limit", 100*lateFraction, 100*ClientLateFraction))
	}
	if cpuPercent >= ClientCPUPercent {
		c.Reasons = append(c.Reasons, fmt.Sprintf("evbench used %.0f%% of the CPU cores >= %g%%: the harness competed with the store", cpuPercent, ClientCPUPercent))
	}
	c.Limited = len(c.Reasons) > 0
	return c
}
