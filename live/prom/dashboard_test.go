package prom

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const dashboardPath = "../../examples/grafana/evbench-dashboard.json"

// metricRef matches a metric name of ours in PromQL. evbench_ is the
// prefix of every metric this package exports.
var metricRef = regexp.MustCompile(`\bevbench_[a-zA-Z0-9_:]*`)

// dashboardQueries returns every PromQL query of a Grafana dashboard,
// named by where it is: each panel target's expr (panels nested in rows
// too) and each templating variable's query.
func dashboardQueries(raw []byte) (map[string]string, error) {
	type target struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	}
	type panel struct {
		ID      int      `json:"id"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"` // a collapsed row's panels
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string          `json:"name"`
				Definition string          `json:"definition"`
				Query      json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	out := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out[fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, t.RefID)] = t.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		out[fmt.Sprintf("variable %s definition", v.Name)] = v.Definition
		// query is a string in old dashboards, an object in new ones.
		var q struct {
			Query string `json:"query"`
		}
		var s string
		if json.Unmarshal(v.Query, &s) == nil {
			out[fmt.Sprintf("variable %s query", v.Name)] = s
		} else if json.Unmarshal(v.Query, &q) == nil {
			out[fmt.Sprintf("variable %s query", v.Name)] = q.Query
		}
	}
	return out, nil
}

// unknownMetrics lists, sorted, "where: name" for each evbench_ metric a
// query names that is not in exported.
func unknownMetrics(queries map[string]string, exported []string) []string {
	have := map[string]bool{}
	for _, n := range exported {
		have[n] = true
	}
	var bad []string
	for where, q := range queries {
		for _, name := range metricRef.FindAllString(q, -1) {
			if !have[name] {
				bad = append(bad, where+": "+name)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := dashboardQueries(raw)
	if err != nil {
		t.Fatal(err)
	}
	exported := exportedNames(t)
	for _, bad := range unknownMetrics(queries, exported) {
		t.Errorf("%s: not a metric the exporter exports (it exports %s)", bad, strings.Join(exported, ", "))
	}

	// The panels the dashboard promises are there: each of these metrics
	// is queried somewhere.
	used := map[string]bool{}
	for _, q := range queries {
		for _, name := range metricRef.FindAllString(q, -1) {
			used[name] = true
		}
	}
	for _, name := range []string{
		"evbench_offered_rate_events_per_second", "evbench_achieved_rate_events_per_second",
		"evbench_commit_latency_seconds_bucket", "evbench_commit_latency_last_second_seconds",
		"evbench_e2e_latency_seconds_bucket", "evbench_e2e_latency_last_second_seconds",
		"evbench_lag_events", "evbench_in_flight", "evbench_events_total",
		"evbench_fault_active", "evbench_outage_active", "evbench_run_info",
	} {
		if !used[name] {
			t.Errorf("no panel queries %s", name)
		}
	}
}

func TestDashboardShape(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	type ds struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	var d struct {
		Inputs []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
		SchemaVersion int    `json:"schemaVersion"`
		UID           string `json:"uid"`
		Title         string `json:"title"`
		Panels        []struct {
			ID         int    `json:"id"`
			Title      string `json:"title"`
			Datasource ds     `json:"datasource"`
			Targets    []struct {
				Expr       string `json:"expr"`
				Datasource ds     `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("parse %s: %v", dashboardPath, err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want one prometheus datasource input DS_PROMETHEUS", d.Inputs)
	}
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q: want ≥ 36 and a uid and title", d.SchemaVersion, d.UID, d.Title)
	}
	want := ds{"prometheus", "${DS_PROMETHEUS}"}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Datasource != want {
			t.Errorf("panel %q: datasource %+v, want %+v", p.Title, p.Datasource, want)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != want || !metricRef.MatchString(tg.Expr) {
				t.Errorf("panel %q target %q: datasource %+v, want %+v and an evbench_ metric", p.Title, tg.Expr, tg.Datasource, want)
			}
		}
	}
}

func TestUnknownMetricsCatches(t *testing.T) {
	// The check above must be able to fail: a misspelt name, a histogram's
	// bare name (only _bucket/_sum/_count exist as series) and a metric in
	// a nested row's panel are all reported.
	raw := []byte(`{
	  "panels": [
	    {"id": 1, "title": "ok", "targets": [{"refId": "A", "expr": "rate(evbench_events_total[30s])"}]},
	    {"id": 2, "title": "typo", "targets": [{"refId": "A", "expr": "evbench_lag_event"}]},
	    {"id": 3, "title": "row", "type": "row", "panels": [
	      {"id": 4, "title": "bare histogram", "targets": [{"refId": "B", "expr": "evbench_commit_latency_seconds"}]}
	    ]}
	  ],
	  "templating": {"list": [{"name": "v", "definition": "label_values(evbench_nope, instance)", "query": "label_values(evbench_nope, instance)"}]}
	}`)
	queries, err := dashboardQueries(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := unknownMetrics(queries, exportedNames(t))
	want := []string{
		`panel 2 "typo" target A: evbench_lag_event`,
		`panel 4 "bare histogram" target B: evbench_commit_latency_seconds`,
		"variable v definition: evbench_nope",
		"variable v query: evbench_nope",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unknownMetrics =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
