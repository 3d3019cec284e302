package main

import (
	"strings"
	"testing"

	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/reports/measure/measuretest"
)

func TestSummaryClientVerdict(t *testing.T) {
	limited := measuretest.Result()
	limited.Client = measure.JudgeClient(95, 3.2, 0.005)
	unlimited := measuretest.Result()
	unlimited.Client = measure.JudgeClient(20, 0.2, 0.0001)
	nothingSent := measuretest.Result()
	nothingSent.Complete, nothingSent.Reason, nothingSent.Events = false, "interrupted", measure.EventCounts{}
	nothingSent.Client = measure.JudgeClient(97, 0, 0)
	for _, tc := range []struct {
		name            string
		r               *measure.Result
		warn, client    bool
		clientLineParts []string
	}{
		{"limited", limited, true, true, []string{"cpu 95%", "send-delay p99 3.20ms", "late 0.5%", "limited YES"}},
		{"unlimited", unlimited, false, true, []string{"cpu 20%", "send-delay p99 200µs", "late 0.01%", "limited no"}},
		{"old result", measuretest.Result(), false, false, nil}, // Reasons nil: not judged
		{"nothing sent", nothingSent, true, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printSummary(&b, tc.r, "results/x")
			out := b.String()
			lines := strings.Split(out, "\n")
			if got := strings.Contains(out, "CLIENT LIMITED"); got != tc.warn {
				t.Errorf("CLIENT LIMITED shown %v, want %v\n%s", got, tc.warn, out)
			}
			if tc.warn {
				// Right under the header line, with every reason.
				if !strings.HasPrefix(lines[2], "  CLIENT LIMITED  evbench was the bottleneck: ") {
					t.Errorf("the client warning is not the line after the header:\n%s", out)
				}
				if want := strings.Join(tc.r.Client.Reasons, "; "); !strings.HasSuffix(lines[2], want) {
					t.Errorf("warning %q lacks the reasons %q", lines[2], want)
				}
			}
			var clientLine string
			for _, l := range lines {
				if strings.HasPrefix(l, "  client     ") {
					clientLine = l
				}
			}
			if (clientLine != "") != tc.client {
				t.Errorf("client line %q, want shown %v\n%s", clientLine, tc.client, out)
			}
			for _, p := range tc.clientLineParts {
				if !strings.Contains(clientLine, p) {
					t.Errorf("client line %q lacks %q", clientLine, p)
				}
			}
		})
	}
}

func TestSummaryClamped(t *testing.T) {
	r := measuretest.Result()
	var b strings.Builder
	printSummary(&b, r, "results/x")
	if strings.Contains(b.String(), "clamped") {
		t.Errorf("clamped shown without clamped values:\n%s", b.String())
	}
	r.Histograms.Clamped = map[string]int64{"send_delay": 1, "commit": 3, "e2e": 0}
	b.Reset()
	printSummary(&b, r, "results/x")
	if !strings.Contains(b.String(), "  clamped    commit 3  send_delay 1 (") {
		t.Errorf("clamped line missing or wrong:\n%s", b.String())
	}
}
