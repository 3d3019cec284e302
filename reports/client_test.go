package reports

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

// clientCases are a client-limited result, a judged unlimited one, and one
// written before the client verdict existed (Reasons nil: not judged).
func clientCases() []struct {
	name            string
	r               *measure.Result
	judged, limited bool
} {
	limited := measuretest.Result()
	limited.Client = measure.JudgeClient(95, 3.2, 0.005)
	unlimited := measuretest.Result()
	unlimited.Client = measure.JudgeClient(20, 0.2, 0.0001)
	old := measuretest.Result() // Client is the zero value, Reasons nil
	return []struct {
		name            string
		r               *measure.Result
		judged, limited bool
	}{
		{"limited", limited, true, true},
		{"unlimited", unlimited, true, false},
		{"old result", old, false, false},
	}
}

// reasonText is in the first reason of the limited case, free of characters
// HTML and XML escape.
const reasonText = "the generator could not send on time"

// expectMarkers checks that each warning marker is present exactly when
// limited, and each client-section marker exactly when judged.
func expectMarkers(t *testing.T, what, out string, judged, limited bool, warn, section []string) {
	t.Helper()
	for _, m := range warn {
		if got := strings.Contains(out, m); got != limited {
			t.Errorf("%s: contains %q = %v, want %v\n%s", what, m, got, limited, out)
		}
	}
	for _, m := range section {
		if got := strings.Contains(out, m); got != judged {
			t.Errorf("%s: contains %q = %v, want %v\n%s", what, m, got, judged, out)
		}
	}
}

func TestClientVerdictShown(t *testing.T) {
	for _, tc := range clientCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			md := string(RenderMarkdown(r))
			expectMarkers(t, "report.md", md, tc.judged, tc.limited,
				[]string{"**CLIENT LIMITED**", reasonText, "| limited | **yes**"}, []string{"## Client", "| CPU (of all cores) |"})
			if tc.judged && !tc.limited && !strings.Contains(md, "| limited | no |") {
				t.Errorf("report.md lacks the limited no row:\n%s", md)
			}
			if i, j := strings.Index(md, "CLIENT LIMITED"), strings.Index(md, "## Gates"); tc.limited && (i < 0 || i > j) {
				t.Errorf("report.md: the client warning is not at the top (at %d, gates at %d)", i, j)
			}

			html, err := RenderHTML(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			expectMarkers(t, "report.html", string(html), tc.judged, tc.limited,
				[]string{`id="client-limited"`, "CLIENT LIMITED", reasonText, `<span class="s FAIL">LIMITED</span>`},
				[]string{`<h2>Client</h2>`, `id="client"`, "send delay p99"})

			ju, err := RenderJUnit(r)
			if err != nil {
				t.Fatal(err)
			}
			expectMarkers(t, "junit.xml", string(ju), tc.judged, tc.limited,
				[]string{`type="client_limited"`, reasonText}, []string{`<testcase name="client"`})

			ref := measuretest.Result()
			ref.Client = measure.JudgeClient(10, 0.1, 0)
			c := NewComparison([]string{"ref", "run"}, []*measure.Result{ref, r})
			warns := strings.Join(c.Warnings, "\n")
			expectMarkers(t, "compare warnings", warns, tc.judged, tc.limited,
				[]string{"WARNING: run run: client limited: ", reasonText, "its figures measure evbench, not the store"}, nil)
			txt := c.Text()
			want := map[bool]string{true: "yes", false: "no"}[tc.limited]
			if !tc.judged {
				want = "-"
			}
			var row string
			for _, l := range strings.Split(txt, "\n") {
				if strings.HasPrefix(l, "client limited") {
					row = l
				}
			}
			if f := strings.Fields(row); len(f) != 4 || f[2] != "no" || f[3] != want {
				t.Errorf("compare text: client limited row %q, want ref no, run %s\n%s", row, want, txt)
			}
			expectMarkers(t, "compare text", txt, tc.judged, tc.limited, []string{"WARNING: run run: client limited"}, nil)
			ch, err := RenderCompareHTML(c)
			if err != nil {
				t.Fatal(err)
			}
			expectMarkers(t, "compare html", string(ch), tc.judged, tc.limited,
				[]string{"client limited: ", `<td><span class="s FAIL">yes</span></td>`}, nil)
			if !strings.Contains(string(ch), `<td class="l">client limited</td>`) {
				t.Error("compare html lacks the client limited row")
			}
		})
	}
}

func TestClampedShown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clamped map[string]int64
		want    string
	}{
		{"none", nil, ""},
		{"zero", map[string]int64{"commit": 0}, ""},
		{"some", map[string]int64{"send_delay": 1, "commit": 3}, "commit 3, send_delay 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := measuretest.Result()
			r.Histograms.Clamped = tc.clamped
			md := string(RenderMarkdown(r))
			html, err := RenderHTML(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			for what, out := range map[string]string{"report.md": md, "report.html": string(html)} {
				has := strings.Contains(out, "values clamped at the 1 h histogram top")
				if has != (tc.want != "") || (tc.want != "" && !strings.Contains(out, tc.want)) {
					t.Errorf("%s: clamped shown %v, want %q\n%s", what, has, tc.want, out)
				}
			}
		})
	}
}

func TestSpectrumIncludesSendDelay(t *testing.T) {
	r := measuretest.Result()
	if _, err := measuretest.Record(r, "", 3); err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, h := range resultHists(r, "") {
		labels = append(labels, h.Label)
	}
	if got := strings.Join(labels, ","); got != "commit,service time,end-to-end,send delay" {
		t.Errorf("spectrum histograms %s", got)
	}
	r.Histograms.SendDelay = "" // an older result: the other three still plot
	if n := len(resultHists(r, "")); n != 3 {
		t.Errorf("without send delay: %d histograms, want 3", n)
	}
}

// A judged verdict survives result.json (reasons [] stays judged), and an
// old result.json without "client" reads as not judged.
func TestClientVerdictRoundTrip(t *testing.T) {
	for _, tc := range clientCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := measure.WriteResult(filepath.Join(dir, measure.ResultFile), tc.r); err != nil {
				t.Fatal(err)
			}
			r, err := measure.ReadResult(dir)
			if err != nil {
				t.Fatal(err)
			}
			if ClientJudged(r) != tc.judged || ClientLimited(r) != tc.limited {
				t.Errorf("after reading: judged %v limited %v, want %v %v", ClientJudged(r), ClientLimited(r), tc.judged, tc.limited)
			}
		})
	}
}
