package omb

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evbench/evbench/scenarios"
)

func TestConvertTestdata(t *testing.T) {
	type want struct {
		name         string
		size         int
		ratio        float64
		pool         int
		keys         int
		dist         string
		start        float64
		duration     time.Duration
		warmup       time.Duration
		projectors   int
		pauses       []scenarios.Pause
		drain        time.Duration
		order        string
		partitions   string // kafka DSN parameter
		probe        bool
		warnings     []string // substrings, each in exactly one warning
		warningCount int
	}
	tests := []struct {
		file string
		want want
	}{
		{"1-topic-1-partition-100b.yaml", want{
			name: "1-topic-1-partition-100b", size: 100, ratio: 1, pool: 1, keys: 10000, dist: "uniform",
			start: 50000, duration: 16 * time.Minute, warmup: time.Minute, projectors: 1, drain: 30 * time.Second,
			order: scenarios.OrderNone, partitions: "1",
			warnings:     []string{"payloadFile testdata/payload/payload-100b.data: evbench cannot send a file's bytes"},
			warningCount: 1,
		}},
		{"1-topic-100-partitions-1kb-4p-4c-backlog.yaml", want{
			name: "1-topic-100-partitions-1kb-4-producers-4-consumers-10gb-backlog", size: 1024, ratio: 0.5, pool: 1000,
			keys: 10000, dist: "roundrobin", start: 100000,
			// 10 GiB / (1 subscription x 100000 msg/s x 1024 B) = 104.86 s, rounded up.
			duration: 5*time.Minute + 105*time.Second + 15*time.Minute, warmup: 5 * time.Minute, projectors: 1,
			pauses: []scenarios.Pause{{At: scenarios.Duration(5 * time.Minute), For: scenarios.Duration(105 * time.Second)}},
			drain:  105 * time.Second, order: scenarios.OrderPerKey, partitions: "100",
			warnings: []string{
				"consumerPerSubscription: 4:", "producersPerTopic: 4 producers",
				"consumers pause at 5m0s for 1m45s", "backlogDrainRatio: 0.99: OMB ends its drain when 1% of the backlog is left",
			},
			warningCount: 4,
		}},
		{"max-rate-many-topics.yaml", want{
			name: "max-rate-50-topics-1-partition-1kb", size: 1024, ratio: 1, pool: 1, keys: 10000, dist: "uniform",
			start: ProbeStartRate, duration: 6 * time.Minute, warmup: time.Minute, projectors: 1, drain: 30 * time.Second,
			order: scenarios.OrderPerKey, partitions: "50", probe: true,
			warnings: []string{
				"topics: 50: evbench drives one topic, so the 50 topics x 1 partitions are folded into one topic of 50 partitions",
				"producerRate: 0 asks for the maximum sustainable rate", "producersPerTopic: 50 producers",
				"exactly the file's 1024 bytes",
			},
			warningCount: 4,
		}},
		{"unknown-field.yaml", want{
			name: "1-topic-16-partitions-1kb-fork-fields", size: 1024, ratio: 1, pool: 100, keys: 10000, dist: "uniform",
			start: 20000, duration: 2 * time.Minute, projectors: 2, drain: 30 * time.Second,
			order: scenarios.OrderNone, partitions: "16",
			warnings: []string{
				`unknown-field.yaml:13: unknown field "producerStartRate"`,
				`unknown-field.yaml:14: unknown field "logIntervalMillis"`,
			},
			warningCount: 2,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Convert(filepath.Join("testdata", "workloads", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			w, s := tc.want, r.Scenario
			if err := scenarios.Validate(s, scenarios.ValidateOptions{}); err != nil {
				t.Fatalf("converted scenario invalid: %v", err)
			}
			e, l, c := s.Events, s.Load, s.Consumers
			checks := []struct {
				what      string
				got, want any
			}{
				{"name", s.Name, w.name},
				{"size", e.Size, scenarios.Size{Min: w.size, Max: w.size}},
				{"payload", e.Payload, scenarios.PayloadRandom},
				{"random_ratio", e.RandomRatio, w.ratio},
				{"payload_pool", e.PayloadPool, w.pool},
				{"keys.count", e.Keys.Count, w.keys},
				{"keys.distribution", e.Keys.Distribution, w.dist},
				{"batch", e.Batch, 1},
				{"load.start", l.Start, w.start},
				{"load.stages", len(l.Stages), 0},
				{"load.duration", l.Duration.D(), w.duration},
				{"load.warmup", l.Warmup.D(), w.warmup},
				{"projectors", c.Projectors, w.projectors},
				{"pauses", len(c.Pause), len(w.pauses)},
				{"drain", c.Drain.D(), w.drain},
				{"expect.order", s.Expect.Order, w.order},
				{"expect.delivery", s.Expect.Delivery, scenarios.DeliveryExactlyOnce},
				{"kafka partitions", r.DSNParams["kafka"]["partitions"], w.partitions},
				{"needs probe", r.NeedsProbe, w.probe},
				{"warning count", len(r.Warnings), w.warningCount},
			}
			for _, ck := range checks {
				if ck.got != ck.want {
					t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
				}
			}
			for i, p := range w.pauses {
				if i < len(c.Pause) && c.Pause[i] != p {
					t.Errorf("pause[%d] = %+v, want %+v", i, c.Pause[i], p)
				}
			}
			for _, sub := range w.warnings {
				n := 0
				for _, wr := range r.Warnings {
					if strings.Contains(wr, sub) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d warnings contain %q, want 1; warnings:\n%s", n, sub, strings.Join(r.Warnings, "\n"))
				}
			}
			if !strings.Contains(s.Description, "OpenMessaging Benchmark") || !strings.Contains(s.Description, tc.file) {
				t.Errorf("description %q does not name OMB and the source", s.Description)
			}
			// The printed file (header comments and all) is the same scenario.
			again, err := scenarios.Parse("printed.yaml", r.Render())
			if err != nil {
				t.Fatalf("rendered YAML does not parse: %v\n%s", err, r.Render())
			}
			if err := scenarios.Validate(again, scenarios.ValidateOptions{}); err != nil {
				t.Fatalf("rendered YAML invalid: %v", err)
			}
			if again.Load.Start != s.Load.Start || again.Load.Duration != s.Load.Duration || again.Load.Warmup != s.Load.Warmup || again.Events.Size != s.Events.Size || again.Events.RandomRatio != s.Events.RandomRatio || again.Expect != s.Expect {
				t.Fatalf("rendered scenario differs: %+v vs %+v", again, s)
			}
			header := string(r.Render()[:len(r.Render())-len(r.YAML)])
			for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
				if !strings.HasPrefix(line, "#") {
					t.Fatalf("header line %q is not a comment", line)
				}
			}
			if want := "--dsn 'kafka://127.0.0.1:9092?partitions=" + w.partitions + "'"; !strings.Contains(header, want) {
				t.Errorf("header lacks %s:\n%s", want, header)
			}
			for _, wr := range r.Warnings {
				if !strings.Contains(header, "# warning: "+wr+"\n") {
					t.Errorf("header lacks warning %q", wr)
				}
			}
			if got := strings.Contains(header, "evbench probe"); got != w.probe {
				t.Errorf("header mentions evbench probe = %v, want %v", got, w.probe)
			}
		})
	}
}

// convertText converts an OMB workload given as text, from a temporary
// file; messages name the file "w.yaml".
func convertText(t *testing.T, text string) (*Result, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return Convert("w.yaml")
}

// base is a valid workload; cases replace one of its lines.
const base = `name: base
topics: 1
partitionsPerTopic: 10
messageSize: 1024
useRandomizedPayloads: true
randomBytesRatio: 0.5
randomizedPayloadPoolSize: 100
subscriptionsPerTopic: 1
consumerPerSubscription: 1
producersPerTopic: 1
producerRate: 1000
consumerBacklogSizeGB: 0
testDurationMinutes: 5
warmupDurationMinutes: 1
`

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string // the whole error message
	}{
		{"negative rate", "producerRate: 1000", "producerRate: -5",
			"w.yaml:11: producerRate: -5 is negative; write the total publish rate in msg/s across all producers, e.g. 50000, or 0 to search for the maximum sustainable rate"},
		{"zero message size", "messageSize: 1024", "messageSize: 0",
			"w.yaml:4: messageSize: 0; write the message size in bytes, e.g. messageSize: 1024"},
		{"missing message size", "messageSize: 1024\n", "",
			"w.yaml: messageSize: missing; write the message size in bytes, e.g. messageSize: 1024"},
		{"message size below 16", "messageSize: 1024", "messageSize: 8",
			"w.yaml:4: messageSize: 8 bytes is below evbench's smallest exact payload, 16 bytes; use 16 or more"},
		{"negative test duration", "testDurationMinutes: 5", "testDurationMinutes: -1",
			"w.yaml:13: testDurationMinutes: -1 is negative; write the measured minutes, e.g. testDurationMinutes: 15"},
		{"zero test duration", "testDurationMinutes: 5", "testDurationMinutes: 0",
			"w.yaml:13: testDurationMinutes: 0; OMB would measure until stopped: write the measured minutes, e.g. testDurationMinutes: 15"},
		{"negative warmup", "warmupDurationMinutes: 1", "warmupDurationMinutes: -2",
			"w.yaml:14: warmupDurationMinutes: -2 is negative; write 0 (no warm-up) or minutes, e.g. 1"},
		{"zero topics", "topics: 1", "topics: 0",
			"w.yaml:2: topics: 0; need at least 1 topic, e.g. topics: 1"},
		{"no producers", "producersPerTopic: 1", "producersPerTopic: 0",
			"w.yaml:10: producersPerTopic: 0; no producer would publish: write 1 or more"},
		{"no consumers in a subscription", "consumerPerSubscription: 1", "consumerPerSubscription: 0",
			"w.yaml:9: consumerPerSubscription: 0 with subscriptionsPerTopic 1: OMB would wait for consumers that never start; write 1 or more"},
		{"ratio above 1", "randomBytesRatio: 0.5", "randomBytesRatio: 1.5",
			"w.yaml:6: randomBytesRatio: 1.5 is outside [0,1]; write the fraction of each payload that is random, e.g. 1 (incompressible) or 0.5"},
		{"empty pool", "randomizedPayloadPoolSize: 100", "randomizedPayloadPoolSize: 0",
			"w.yaml:7: randomizedPayloadPoolSize: 0 with useRandomizedPayloads: true gives OMB no payload to send; write the number of distinct payloads, e.g. 1000"},
		{"backlog without subscription", "subscriptionsPerTopic: 1\nconsumerPerSubscription: 1\nproducersPerTopic: 1\nproducerRate: 1000\nconsumerBacklogSizeGB: 0",
			"subscriptionsPerTopic: 0\nconsumerPerSubscription: 1\nproducersPerTopic: 1\nproducerRate: 1000\nconsumerBacklogSizeGB: 1",
			"w.yaml:12: consumerBacklogSizeGB: 1 GiB with no subscription: the backlog is what subscriptions have not read, so it never builds; set subscriptionsPerTopic: 1 or consumerBacklogSizeGB: 0"},
		{"wrong type", "topics: 1", "topics: many",
			`w.yaml:2: topics: "many" is not a whole number; write a whole number, e.g. 1`},
		{"float for int", "producerRate: 1000", "producerRate: 1000.5",
			`w.yaml:11: producerRate: "1000.5" is not a whole number; write a whole number, e.g. 50000`},
		{"too big for a Java int", "producerRate: 1000", "producerRate: 9999999999",
			`w.yaml:11: producerRate: 9999999999 does not fit OMB's 32-bit field; write a whole number, e.g. 50000`},
		{"list for a scalar", "messageSize: 1024", "messageSize: [1024]",
			"w.yaml:4: messageSize: a list where OMB expects a whole number; write e.g. 1024"},
		{"bad enum", "topics: 1", "topics: 1\nkeyDistributor: ZIPF",
			`w.yaml:3: keyDistributor: "ZIPF" is not a key distributor; write one of NO_KEY, KEY_ROUND_ROBIN, RANDOM_NANO, e.g. KEY_ROUND_ROBIN`},
		{"bad bool", "useRandomizedPayloads: true", "useRandomizedPayloads: maybe",
			`w.yaml:5: useRandomizedPayloads: "maybe" is not a boolean; write true or false, e.g. true`},
		{"twice", "topics: 1", "topics: 1\ntopics: 2",
			"w.yaml:3: topics: written twice (first on line 2); keep one"},
		{"syntax", "topics: 1", "topics: [1",
			"w.yaml:2: syntax: did not find expected ',' or ']'; fix the YAML there"},
		{"not a mapping", base, "- topics: 1\n",
			"w.yaml:1: an OMB workload is a mapping of fields (topics: 1, messageSize: 1024, ...), not a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, tc.old, tc.new, 1)
			if text == base {
				t.Fatalf("case does not change the base workload")
			}
			r, err := convertText(t, text)
			if err == nil {
				t.Fatalf("converted, want error %q; warnings %v", tc.want, r.Warnings)
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, tc.want)
			}
		})
	}
}

// TestErrorsAreFileLineOneLiners checks the bad testdata files: one line
// each, starting file:line.
func TestErrorsAreFileLineOneLiners(t *testing.T) {
	re := regexp.MustCompile(`^testdata/workloads/[a-z-]+\.yaml:[1-9][0-9]*: [^\n]+; [^\n]+$`)
	for _, f := range []string{"bad-syntax.yaml", "negative-rate.yaml"} {
		_, err := Convert(filepath.Join("testdata", "workloads", f))
		if err == nil || !re.MatchString(err.Error()) {
			t.Errorf("%s: error %q is not one file:line: problem; fix line", f, err)
		}
	}
	if _, err := Convert("testdata/workloads/nope.yaml"); err == nil || !strings.HasPrefix(err.Error(), "testdata/workloads/nope.yaml: cannot read OMB workload: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestConvertMappings(t *testing.T) {
	tests := []struct {
		name     string
		old, new []string // line replacements applied to base, in order
		check    func(t *testing.T, r *Result)
	}{
		{"defaults: NO_KEY, 1 min warm-up", []string{"warmupDurationMinutes: 1\n"}, []string{""}, func(t *testing.T, r *Result) {
			if r.Scenario.Load.Warmup.D() != time.Minute || r.Scenario.Load.Duration.D() != 6*time.Minute {
				t.Errorf("load %+v, want OMB's default 1m warm-up before 5m", r.Scenario.Load)
			}
			if r.Scenario.Expect.Order != scenarios.OrderNone || r.Scenario.Events.Keys.Distribution != "uniform" {
				t.Errorf("NO_KEY: expect %+v keys %+v", r.Scenario.Expect, r.Scenario.Events.Keys)
			}
		}},
		{"no warm-up", []string{"warmupDurationMinutes: 1"}, []string{"warmupDurationMinutes: 0"}, func(t *testing.T, r *Result) {
			if r.Scenario.Load.Warmup != 0 || r.Scenario.Load.Duration.D() != 5*time.Minute {
				t.Errorf("load %+v, want no warm-up and 5m", r.Scenario.Load)
			}
		}},
		{"many partitions raise the key count", []string{"topics: 1", "partitionsPerTopic: 10"}, []string{"topics: 10", "partitionsPerTopic: 2000"}, func(t *testing.T, r *Result) {
			if r.Partitions != 20000 || r.Scenario.Events.Keys.Count != 20000 || r.DSNParams["kafka"]["partitions"] != "20000" {
				t.Errorf("partitions %d keys %d dsn %v, want 20000 each", r.Partitions, r.Scenario.Events.Keys.Count, r.DSNParams)
			}
		}},
		{"round robin", []string{"topics: 1"}, []string{"topics: 1\nkeyDistributor: KEY_ROUND_ROBIN"}, func(t *testing.T, r *Result) {
			if k := r.Scenario.Events.Keys; k.Distribution != "roundrobin" || k.Count != OMBKeys || r.Scenario.Expect.Order != scenarios.OrderPerKey {
				t.Errorf("keys %+v expect %+v", k, r.Scenario.Expect)
			}
		}},
		{"ratio 0 kept explicit", []string{"randomBytesRatio: 0.5"}, []string{"randomBytesRatio: 0"}, func(t *testing.T, r *Result) {
			if r.Scenario.Events.RandomRatio != 0 {
				t.Errorf("random_ratio %g, want 0 (not evbench's default 1)", r.Scenario.Events.RandomRatio)
			}
		}},
		{"ratio absent is OMB's 0 and warned", []string{"randomBytesRatio: 0.5\n"}, []string{""}, func(t *testing.T, r *Result) {
			if r.Scenario.Events.RandomRatio != 0 || !hasWarning(r, "randomBytesRatio not given") {
				t.Errorf("random_ratio %g, warnings %v", r.Scenario.Events.RandomRatio, r.Warnings)
			}
		}},
		{"missing payload file", []string{"useRandomizedPayloads: true"}, []string{"useRandomizedPayloads: false\npayloadFile: payload/none.data"}, func(t *testing.T, r *Result) {
			e := r.Scenario.Events
			if e.Size.Min != 1024 || e.PayloadPool != 1 || e.RandomRatio != 0.5 || !hasWarning(r, `payloadFile "payload/none.data" not found`) {
				t.Errorf("events %+v warnings %v", e, r.Warnings)
			}
		}},
		{"subscriptions are projectors", []string{"subscriptionsPerTopic: 1"}, []string{"subscriptionsPerTopic: 3"}, func(t *testing.T, r *Result) {
			if r.Scenario.Consumers.Projectors != 3 {
				t.Errorf("projectors %d, want 3", r.Scenario.Consumers.Projectors)
			}
		}},
		{"backlog pause sized by subscriptions", []string{"consumerBacklogSizeGB: 0", "subscriptionsPerTopic: 1"}, []string{"consumerBacklogSizeGB: 1", "subscriptionsPerTopic: 2"}, func(t *testing.T, r *Result) {
			// 1 GiB / (2 subscriptions x 1000 msg/s x 1024 B) = 524.288 s -> 525 s.
			want := scenarios.Pause{At: scenarios.Duration(time.Minute), For: scenarios.Duration(525 * time.Second)}
			if p := r.Scenario.Consumers.Pause; len(p) != 1 || p[0] != want {
				t.Errorf("pauses %+v, want [%+v]", p, want)
			}
			if d := r.Scenario.Load.Duration.D(); d != time.Minute+525*time.Second+5*time.Minute {
				t.Errorf("duration %v, want warm-up + pause + test", d)
			}
			if d := r.Scenario.Consumers.Drain.D(); d != 525*time.Second {
				t.Errorf("drain %v, want the pause's length", d)
			}
		}},
		{"backlog with rate 0 is not scheduled", []string{"consumerBacklogSizeGB: 0", "producerRate: 1000"}, []string{"consumerBacklogSizeGB: 1", "producerRate: 0"}, func(t *testing.T, r *Result) {
			if len(r.Scenario.Consumers.Pause) != 0 || !r.NeedsProbe || !hasWarning(r, "no pause is scheduled") {
				t.Errorf("pauses %+v probe %v warnings %v", r.Scenario.Consumers.Pause, r.NeedsProbe, r.Warnings)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := base
			for i := range tc.old {
				next := strings.Replace(text, tc.old[i], tc.new[i], 1)
				if next == text {
					t.Fatalf("%q not in the base workload", tc.old[i])
				}
				text = next
			}
			r, err := convertText(t, text)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
			if err := scenarios.Validate(r.Scenario, scenarios.ValidateOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func hasWarning(r *Result, sub string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"1 topic / 1 partition / 100b": "1-topic-1-partition-100b",
		"Max_Rate--Kafka":              "max-rate-kafka",
		"  --  ":                       "",
		"simple":                       "simple",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
