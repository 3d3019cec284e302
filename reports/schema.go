package reports

import (
	"fmt"
	"strings"

	"github.com/evbench/evbench/reports/measure"
)

// SchemaText is the one-line schema-evolution summary (terminal, Markdown
// and HTML alike), "" when the run measured none: the versions produced of
// each type that changed, what the current reader read and upcast at what
// cost, and what the canary could not read.
func SchemaText(r *measure.Result) string {
	s := r.SchemaEvolution
	if s == nil {
		return ""
	}
	var parts []string
	if p := versionList(s.Produced, true); p != "" {
		parts = append(parts, "produced "+p)
	}
	c := s.Current
	cur := fmt.Sprintf("current reader read %d, unreadable %d, upcast %d", c.Read, c.Unreadable, c.Upcast)
	if c.Upcast > 0 {
		cur += fmt.Sprintf(" (%d steps, %s mean, p99 %s)", c.UpcastSteps, nanos(c.UpcastNS.Mean), nanos(c.UpcastNS.P99))
	}
	parts = append(parts, cur)
	if k := s.Canary; k != nil {
		can := fmt.Sprintf("canary v%d read %d, unreadable %d", k.Version, k.Read, k.Unreadable)
		if u := versionList(k.UnreadableBy, false); u != "" {
			can += " (" + u + ")"
		}
		parts = append(parts, can)
	}
	if !c.Drained {
		parts = append(parts, "readers did not reach the head")
	}
	return strings.Join(parts, "; ")
}

// versionList is "OrderPlaced v1 76, v2 58" per type; changedOnly leaves
// out types produced at version 1 only.
func versionList(counts []measure.TypeVersionCount, changedOnly bool) string {
	byType := map[string][]string{}
	var order []string
	changed := map[string]bool{}
	for _, c := range counts {
		if _, ok := byType[c.Type]; !ok {
			order = append(order, c.Type)
		}
		byType[c.Type] = append(byType[c.Type], fmt.Sprintf("v%d %d", c.Version, c.Events))
		changed[c.Type] = changed[c.Type] || c.Version != 1
	}
	var out []string
	for _, t := range order {
		if changedOnly && !changed[t] {
			continue
		}
		out = append(out, t+" "+strings.Join(byType[t], ", "))
	}
	return strings.Join(out, "; ")
}

// nanos formats a duration given in ns: "850 ns", "12.3 µs", "1.20 ms".
func nanos(ns float64) string {
	switch {
	case ns < 1000:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}
