package reports

import (
	"fmt"
	"github.com/evbench/evbench/reports/measure"
	"io"
	"strings"
)

// ProbeTable prints one terminal row per probe step as the probe runs:
// the header before the first row, then fixed-width columns (step,
// offered, achieved, p50/p99, lag slope, verdict with its reasons), so
// rows line up without buffering the table. It is not safe for
// concurrent use; the zero value is not usable, call NewProbeTable.
type ProbeTable struct {
	w      io.Writer
	n      int
	header bool
}

// NewProbeTable returns a table writing to w.
func NewProbeTable(w io.Writer) *ProbeTable { return &ProbeTable{w: w} }

const probeRowFormat = "%4s  %11s  %11s  %17s  %19s  %s\n"

// Header prints the header line if it was not printed yet (Row calls it).
func (t *ProbeTable) Header() error {
	if t.header {
		return nil
	}
	t.header = true
	_, err := fmt.Fprintf(t.w, probeRowFormat, "step", "offered/s", "achieved/s", "p50 / p99 ms", "lag slope/s", "verdict")
	return err
}

// Row prints step s as the next row (numbered from 1 in call order).
func (t *ProbeTable) Row(s measure.ProbeStep) error {
	if err := t.Header(); err != nil {
		return err
	}
	t.n++
	v := ProbeStepVerdict(s)
	if len(s.Reasons) > 0 {
		rs := strings.Join(s.Reasons, "; ")
		// The engine may start a reason with the verdict itself.
		v += ": " + strings.TrimPrefix(rs, ProbeStepVerdict(s)+": ")
	}
	_, err := fmt.Fprintf(t.w, probeRowFormat, fmt.Sprint(t.n), num(s.Offered), num(s.Achieved),
		num(s.P50)+" / "+num(s.P99), lagSlopeText(s), v)
	return err
}

// Summary prints the probe's verdict line under the rows.
func (t *ProbeTable) Summary(r *measure.ProbeResult) error {
	_, err := fmt.Fprintln(t.w, ProbeVerdict(r))
	if err == nil && r.ClientLimitedAt > 0 {
		_, err = fmt.Fprintln(t.w, "CLIENT LIMITED  "+probeClientLimitedText(r))
	}
	return err
}
