package plan

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Text renders the plan for a terminal: one aligned line per figure with
// its source, then the warnings.
func (p Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "capacity plan: %s\n", p.Subject)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, f := range p.Figures {
		fmt.Fprintf(tw, "  %s\t%s %s\t%s\n", f.Name, f.Value, f.Unit, f.Source)
	}
	tw.Flush()
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// Markdown renders the plan as a report section: a heading, a table of
// figures with their sources, and the warnings as a list.
func (p Plan) Markdown() string {
	var b strings.Builder
	b.WriteString("## Capacity plan\n\n")
	if p.Subject != "" {
		fmt.Fprintf(&b, "Measured: %s.\n\n", mdEscape(p.Subject))
	}
	b.WriteString("| figure | value | source |\n|---|---:|---|\n")
	for _, f := range p.Figures {
		fmt.Fprintf(&b, "| %s | %s %s | %s |\n", mdEscape(f.Name), mdEscape(f.Value), mdEscape(f.Unit), mdEscape(f.Source))
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\n")
		for _, w := range p.Warnings {
			fmt.Fprintf(&b, "- %s\n", mdEscape(w))
		}
	}
	return b.String()
}

// mdEscape keeps a cell on one line and its pipes literal.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
