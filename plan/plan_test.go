package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/probe"
	"github.com/evbench/evbench/reports/measure"
)

func runResult(rebuild *measure.Rebuild) *measure.Result {
	return &measure.Result{
		Schema: measure.SchemaV1, Complete: true,
		Scenario: measure.ScenarioInfo{Name: "rebuild",
			Resolved: json.RawMessage(`{"name":"rebuild","events":{"size":{"min":200,"max":1000}}}`)},
		Driver:       measure.DriverInfo{Name: "refstore", Describe: "refstore sync=always"},
		OfferedRate:  20000,
		AchievedRate: 19800,
		Rebuild:      rebuild,
	}
}

var rb = &measure.Rebuild{Events: 200000, Bytes: 140000000, Seconds: 4, EventsPerSec: 50000, Complete: true}

func probeResult(max float64) *probe.Result {
	return &probe.Result{Schema: probe.SchemaV1, Complete: true, Scenario: "burst",
		Driver: measure.DriverInfo{Name: "memory"}, SLO: []string{"commit.p99 < 50ms"},
		MaxSustainableRate: max, FirstFailingRate: max * 1.1}
}

// fig returns the value and unit of the named figure, "" when absent.
func fig(p Plan, prefix string) (string, string) {
	for _, f := range p.Figures {
		if strings.HasPrefix(f.Name, prefix) {
			return f.Value + " " + f.Unit, f.Source
		}
	}
	return "", ""
}

func TestMake(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		in      Input
		want    map[string]string // figure name prefix -> "value unit"
		source  map[string]string // figure name prefix -> substring of its source
		absent  []string          // figure name prefixes that must not appear
		warn    []string          // substrings some warning must hold
		wantErr string
	}{
		{
			name: "run with rebuild, peak and retention",
			in:   Input{Result: runResult(rb), PeakRate: 5000, Retention: 30 * day},
			want: map[string]string{
				"bytes per event":           "700 B",
				"events per day at peak":    "432,000,000 events",
				"storage per day at peak":   "302 GB/day",
				"events in the retention":   "12,960,000,000 events",
				"storage for the retention": "9.07 TB",
				// 12.96e9 events / 50,000/s = 259,200 s = 3.0 days
				"maximum rebuild duration after a failure":              "3.0 days",
				"headroom over peak (achieved, not a sustainable rate)": "3.96 ×",
			},
			source: map[string]string{
				"bytes per event": "measured: result.json rebuild.bytes / rebuild.events = 140,000,000 B / 200,000",
				"maximum rebuild": "rebuild.events_per_sec = 50,000/s",
				"headroom":        "achieved rate 19,800/s / --peak-rate 5,000/s",
			},
			absent: []string{"cost"},
			warn:   []string{"store overhead", "extrapolation", "achieved rate, which is what was offered"},
		},
		{
			name: "probe gives headroom and cost",
			in:   Input{Probe: probeResult(40000), PeakRate: 10000, CostPerHour: 0.72, EventSize: 1000},
			want: map[string]string{
				"bytes per event":         "1,000 B",
				"storage per day at peak": "864 GB/day",
				"max sustainable rate":    "40,000 events/s",
				"headroom over peak":      "4.00 ×",
				// 0.72 / (40,000 × 3,600) × 1e6 = 0.005
				"cost per million events at the sustainable rate": "0.005 per 1M events",
			},
			source: map[string]string{
				"bytes per event":      "--event-size",
				"max sustainable rate": "probe.json max_sustainable_rate (SLO commit.p99 < 50ms)",
			},
			absent: []string{"maximum rebuild", "headroom over peak (achieved"},
		},
		{
			name: "no rebuild: events.size midpoint",
			in:   Input{Result: runResult(nil), PeakRate: 1000},
			want: map[string]string{"bytes per event": "600 B", "storage per day at peak": "51.8 GB/day"},
			source: map[string]string{
				"bytes per event": "scenario events.size {min 200, max 1000} midpoint",
			},
			warn: []string{"without key, type or metadata"},
		},
		{
			name:   "no peak rate: only what needs none",
			in:     Input{Result: runResult(rb)},
			want:   map[string]string{"bytes per event": "700 B", "achieved rate (achieved, not a sustainable rate)": "19,800 events/s"},
			absent: []string{"storage", "headroom"},
			warn:   []string{"pass --peak-rate"},
		},
		{
			name: "peak above sustainable",
			in:   Input{Probe: probeResult(4000), PeakRate: 5000, EventSize: 500},
			want: map[string]string{"headroom over peak": "0.80 ×"},
			warn: []string{"does not hold the peak"},
		},
		{
			name: "probe stopped by the client",
			in: Input{Probe: &probe.Result{Schema: probe.SchemaV1, Complete: true, MaxSustainableRate: 4000, ClientLimitedAt: 8000},
				PeakRate: 3000, EventSize: 700},
			want: map[string]string{"headroom over peak": "1.33 ×"},
			warn: []string{"no probe step failed below 8,000/s, where evbench itself became the limit"},
		},
		{
			name: "both: probe headroom, run rebuild",
			in:   Input{Result: runResult(rb), Probe: probeResult(30000), PeakRate: 5000, Retention: 2 * time.Hour},
			want: map[string]string{"headroom over peak": "6.00 ×", "maximum rebuild duration after a failure": "12.0 min"},
		},
		{
			name:    "retention without rebuild",
			in:      Input{Result: runResult(nil), PeakRate: 5000, Retention: 30 * day},
			wantErr: "RESULT has no rebuild: re-run with --set consumers.rebuild=end (evbench run SCENARIO) or drop --retention",
		},
		{
			name:    "retention on a probe",
			in:      Input{Probe: probeResult(1000), PeakRate: 500, Retention: day, EventSize: 100},
			wantErr: "a probe has no rebuild measurement: re-run with --set consumers.rebuild=end",
		},
		{
			name:    "retention without peak",
			in:      Input{Result: runResult(rb), Retention: day},
			wantErr: "--retention needs --peak-rate",
		},
		{
			name:    "probe without event size",
			in:      Input{Probe: probeResult(1000), PeakRate: 500},
			wantErr: "a probe has no event size: pass --event-size BYTES",
		},
		{
			name:    "probe found nothing sustainable",
			in:      Input{Probe: probeResult(0), PeakRate: 500, EventSize: 100},
			wantErr: "max_sustainable_rate is 0",
		},
		{
			name:    "no rate for cost",
			in:      Input{Result: &measure.Result{Complete: true, Rebuild: rb}, CostPerHour: 1},
			wantErr: "RESULT has no achieved rate",
		},
		{name: "nothing", in: Input{}, wantErr: "no measurement"},
		{name: "negative peak", in: Input{Result: runResult(rb), PeakRate: -1}, wantErr: "--peak-rate -1"},
		{name: "negative cost", in: Input{Result: runResult(rb), CostPerHour: -1}, wantErr: "--cost-per-hour -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Make(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Make: %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got, _ := fig(p, name); got != want {
					t.Errorf("%s = %q, want %q\n%s", name, got, want, p.Text())
				}
			}
			for name, want := range tc.source {
				if _, src := fig(p, name); !strings.Contains(src, want) {
					t.Errorf("%s source %q, want it to contain %q", name, src, want)
				}
			}
			for _, name := range tc.absent {
				if got, _ := fig(p, name); got != "" {
					t.Errorf("figure %s = %q present, want absent", name, got)
				}
			}
			all := strings.Join(p.Warnings, "\n")
			for _, w := range tc.warn {
				if !strings.Contains(all, w) {
					t.Errorf("no warning contains %q; warnings:\n%s", w, all)
				}
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"30d", 30 * 24 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"720h", 720 * time.Hour},
		{"90m", 90 * time.Minute},
		{"0d", 0}, {"-1d", 0}, {"d", 0}, {"30days", 0}, {"0s", 0}, {"-5h", 0}, {"", 0}, {"NaNd", 0},
	} {
		got, err := ParseRetention(tc.in)
		if tc.want == 0 {
			if err == nil || !strings.Contains(err.Error(), "--retention") {
				t.Errorf("ParseRetention(%q) = %v, %v; want a --retention error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if got := FormatRetention(30 * 24 * time.Hour); got != "30d" {
		t.Errorf("FormatRetention(30d) = %q", got)
	}
}

func TestRender(t *testing.T) {
	p, err := Make(Input{Result: runResult(rb), PeakRate: 5000, Retention: 30 * 24 * time.Hour, CostPerHour: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	txt := p.Text()
	for _, want := range []string{"capacity plan: rebuild on refstore sync=always", "maximum rebuild duration after a failure", "3.0 days", "warning: "} {
		if !strings.Contains(txt, want) {
			t.Errorf("Text lacks %q:\n%s", want, txt)
		}
	}
	md := p.Markdown()
	for _, want := range []string{"## Capacity plan\n", "| figure | value | source |", "| storage for the retention | 9.07 TB |", "\n- "} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "\n|") != len(p.Figures)+2 { // header, separator, one row per figure
		t.Errorf("Markdown has %d table rows for %d figures:\n%s", strings.Count(md, "\n|"), len(p.Figures), md)
	}
}

// A probe carries its own closing rebuild: plan takes bytes per event and
// the rebuild rate from it, and says so.
func TestPlanFromProbeWithRebuild(t *testing.T) {
	pr := &measure.ProbeResult{Schema: measure.ProbeSchemaV1, Complete: true, MaxSustainableRate: 9000, SLO: []string{"commit.p99 < 50ms"},
		Rebuild: &measure.Rebuild{Events: 1000, Bytes: 700000, Seconds: 1, EventsPerSec: 1000, Complete: true}}
	p, err := Make(Input{Probe: pr, PeakRate: 5000, Retention: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	text := p.Text()
	for _, want := range []string{"probe.json rebuild.bytes", "probe.json rebuild.events_per_sec", "1.80 ×"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "incomplete") {
		t.Errorf("a complete probe is called incomplete:\n%s", text)
	}
}
