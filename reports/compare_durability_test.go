package reports

import (
	"html/template"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

func TestCompareWarnsWhenDurabilityDiffers(t *testing.T) {
	label := func(ack, repl string) *measure.Durability {
		return &measure.Durability{AckAfterFsync: ack, Replication: repl, Detail: "d", Source: "s"}
	}
	for _, tc := range []struct {
		name string
		a, b *measure.Durability
		want string // "" means no warning
	}{
		{"same", label("true", "R1"), label("true", "R1"), ""},
		{"both unlabelled", nil, nil, ""},
		{"fsync differs", label("true", "R1"), label("false", "R1"),
			"WARNING: durability differs: refstore-run acks after fsync, nats-run acks before fsync: their commit latencies are not comparable"},
		{"unknown", label("true", "R1"), label("unknown", "R1"),
			"WARNING: durability differs: refstore-run acks after fsync, nats-run does not say whether it acks after fsync: their commit latencies are not comparable"},
		{"replication differs", label("false", "R1 (no replicas)"), label("false", "R3"),
			"WARNING: durability differs: refstore-run acks before fsync (replication: R1 (no replicas)), nats-run acks before fsync (replication: R3): their commit latencies are not comparable"},
		{"one unlabelled", label("true", "R1"), nil,
			"WARNING: durability differs: refstore-run acks after fsync, nats-run has no durability label: their commit latencies are not comparable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := measuretest.Result(), measuretest.Result()
			a.Durability, b.Durability = tc.a, tc.b
			c := NewComparison([]string{"refstore-run", "nats-run"}, []*measure.Result{a, b})
			var got []string
			for _, w := range c.Warnings {
				if strings.Contains(w, "durability") {
					got = append(got, w)
				}
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("warned: %v", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("warnings %q, want %q", got, tc.want)
			}
			if txt := c.Text(); !strings.Contains(txt, tc.want) {
				t.Errorf("Text lacks the warning:\n%s", txt)
			}
			html, err := RenderCompareHTML(c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(html), `<div class="warn">WARNING: durability differs: `) {
				t.Errorf("compare HTML lacks the warning")
			}
		})
	}
}

func TestCompareShowsDurabilityRows(t *testing.T) {
	a, b := measuretest.Result(), measuretest.Result()
	b.Durability = &measure.Durability{AckAfterFsync: "false", Replication: "R1 (no replicas)"}
	c := NewComparison([]string{"a", "b", "c"}, []*measure.Result{a, b, measuretestOld()})
	txt := c.Text()
	rows := map[string]string{}
	for _, l := range strings.Split(txt, "\n") {
		for _, name := range []string{"ack after fsync", "replication"} {
			if strings.HasPrefix(l, name+" ") {
				rows[name] = strings.Join(strings.Fields(strings.TrimPrefix(l, name)), " ")
			}
		}
	}
	if rows["ack after fsync"] != "true false -" || rows["replication"] != "none (single copy) R1 (no replicas) -" {
		t.Errorf("durability rows %q:\n%s", rows, txt)
	}
	html, err := RenderCompareHTML(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<td class="l">ack after fsync</td><td>true</td><td>false</td><td>-</td>`) {
		t.Errorf("compare HTML lacks the ack after fsync row")
	}
}

// measuretestOld is a result written before durability labels.
func measuretestOld() *measure.Result {
	r := measuretest.Result()
	r.Durability = nil
	return r
}

func TestDurabilityBesideCommitLatency(t *testing.T) {
	r := measuretest.Result()
	r.Durability = &measure.Durability{AckAfterFsync: "false", Replication: "R1 (no replicas)",
		Detail: "nats-server sync every 2m", Source: "embedded server configuration"}
	want := "ack after fsync: false (nats-server sync every 2m; replication: R1 (no replicas); source: embedded server configuration)"
	if got := DurabilityText(r); got != want {
		t.Errorf("DurabilityText = %q, want %q", got, want)
	}
	if md := string(RenderMarkdown(r)); !strings.Contains(md, "Commit durability: "+want) {
		t.Errorf("report.md lacks the label:\n%s", md)
	}
	html, err := RenderHTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `<p class="meta" id="durability">Commit durability: `+template.HTMLEscapeString(want)) {
		t.Errorf("report.html lacks the label")
	}
	r.Durability = nil
	if got := DurabilityText(r); !strings.HasPrefix(got, "not recorded") {
		t.Errorf("unlabelled: %q", got)
	}
}
