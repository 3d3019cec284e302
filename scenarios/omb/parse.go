package omb

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Key distributors of OMB's KeyDistributorType.
const (
	NoKey         = "NO_KEY"
	KeyRoundRobin = "KEY_ROUND_ROBIN"
	RandomNano    = "RANDOM_NANO"
)

// Workload mirrors io.openmessaging.benchmark.Workload (upstream
// openmessaging/benchmark). Fields left out of the file keep OMB's Java
// defaults (0, false, "", NO_KEY, backlogDrainRatio 1.0,
// warmupDurationMinutes 1), because that is what OMB would run; Set records
// which ones the file wrote, and on which line.
type Workload struct {
	Name                      string
	Topics                    int64
	PartitionsPerTopic        int64
	KeyDistributor            string
	MessageSize               int64
	UseRandomizedPayloads     bool
	RandomBytesRatio          float64
	RandomizedPayloadPoolSize int64
	PayloadFile               string
	SubscriptionsPerTopic     int64
	ProducersPerTopic         int64
	ConsumerPerSubscription   int64
	ProducerRate              int64
	ConsumerBacklogSizeGB     int64
	BacklogDrainRatio         float64
	TestDurationMinutes       int64
	WarmupDurationMinutes     int64

	// Set maps each field the file wrote to its line.
	Set map[string]int
	// Unknown lists the fields OMB's Workload does not have, with their lines,
	// in file order. OMB's loader ignores them; the converter warns.
	Unknown []Field
}

// Field is a YAML key and the line it is on.
type Field struct {
	Name string
	Line int
}

// Java's int and long: OMB's loader rejects values that do not fit, so do we.
const (
	javaInt  = 32
	javaLong = 64
)

// fieldSpec decodes one OMB field into w. kind names the Java type in
// errors ("a whole number", "true or false").
type fieldSpec struct {
	kind   string
	decode func(w *Workload, v string) error
}

func intField(bits int, dst func(w *Workload) *int64) fieldSpec {
	return fieldSpec{"a whole number", func(w *Workload, v string) error {
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, bits)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
				return fmt.Errorf("%s does not fit OMB's %d-bit field", v, bits)
			}
			return fmt.Errorf("%q is not a whole number", v)
		}
		*dst(w) = n
		return nil
	}}
}

func floatField(dst func(w *Workload) *float64) fieldSpec {
	return fieldSpec{"a number", func(w *Workload, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a finite number", v)
		}
		*dst(w) = f
		return nil
	}}
}

var fields = map[string]fieldSpec{
	"name":               {"a string", func(w *Workload, v string) error { w.Name = v; return nil }},
	"topics":             intField(javaInt, func(w *Workload) *int64 { return &w.Topics }),
	"partitionsPerTopic": intField(javaInt, func(w *Workload) *int64 { return &w.PartitionsPerTopic }),
	"keyDistributor": {"one of NO_KEY, KEY_ROUND_ROBIN, RANDOM_NANO", func(w *Workload, v string) error {
		switch v {
		case NoKey, KeyRoundRobin, RandomNano:
			w.KeyDistributor = v
			return nil
		}
		return fmt.Errorf("%q is not a key distributor", v)
	}},
	"messageSize": intField(javaInt, func(w *Workload) *int64 { return &w.MessageSize }),
	"useRandomizedPayloads": {"true or false", func(w *Workload, v string) error {
		switch strings.ToLower(v) {
		case "true":
			w.UseRandomizedPayloads = true
		case "false":
			w.UseRandomizedPayloads = false
		default:
			return fmt.Errorf("%q is not a boolean", v)
		}
		return nil
	}},
	"randomBytesRatio":          floatField(func(w *Workload) *float64 { return &w.RandomBytesRatio }),
	"randomizedPayloadPoolSize": intField(javaInt, func(w *Workload) *int64 { return &w.RandomizedPayloadPoolSize }),
	"payloadFile":               {"a path", func(w *Workload, v string) error { w.PayloadFile = v; return nil }},
	"subscriptionsPerTopic":     intField(javaInt, func(w *Workload) *int64 { return &w.SubscriptionsPerTopic }),
	"producersPerTopic":         intField(javaInt, func(w *Workload) *int64 { return &w.ProducersPerTopic }),
	"consumerPerSubscription":   intField(javaInt, func(w *Workload) *int64 { return &w.ConsumerPerSubscription }),
	"producerRate":              intField(javaInt, func(w *Workload) *int64 { return &w.ProducerRate }),
	"consumerBacklogSizeGB":     intField(javaLong, func(w *Workload) *int64 { return &w.ConsumerBacklogSizeGB }),
	"backlogDrainRatio":         floatField(func(w *Workload) *float64 { return &w.BacklogDrainRatio }),
	"testDurationMinutes":       intField(javaInt, func(w *Workload) *int64 { return &w.TestDurationMinutes }),
	"warmupDurationMinutes":     intField(javaInt, func(w *Workload) *int64 { return &w.WarmupDurationMinutes }),
}

// Parse decodes an OMB workload strictly: a YAML syntax error, a value of
// the wrong type and a field written twice are errors, one
// "file:line: field: problem; fix" line each (all of them, joined). Unknown
// fields are not errors (OMB's loader ignores them too) but are kept in
// Unknown so the converter can warn about each. name is the file name used
// in messages.
func Parse(name string, data []byte) (*Workload, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	w := &Workload{KeyDistributor: NoKey, BacklogDrainRatio: 1.0, WarmupDurationMinutes: 1, Set: map[string]int{}}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file; an OMB workload lists fields such as topics, partitionsPerTopic, messageSize, producerRate", name)
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: an OMB workload is a mapping of fields (topics: 1, messageSize: 1024, ...), not a %s", name, root.Line, kindName(root))
	}
	var problems []string
	bad := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", name, line)+fmt.Sprintf(format, args...))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), resolve(root.Content[i+1])
		key := k.Value
		if first, dup := seen[key]; dup {
			bad(k.Line, "%s: written twice (first on line %d); keep one", key, first)
			continue
		}
		seen[key] = k.Line
		spec, known := fields[key]
		if !known {
			w.Unknown = append(w.Unknown, Field{key, k.Line})
			continue
		}
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			continue // Jackson leaves the field at its default
		}
		if v.Kind != yaml.ScalarNode {
			bad(v.Line, "%s: a %s where OMB expects %s; write e.g. %s", key, kindName(v), spec.kind, example(key))
			continue
		}
		if err := spec.decode(w, v.Value); err != nil {
			bad(v.Line, "%s: %v; write %s, e.g. %s", key, err, spec.kind, example(key))
			continue
		}
		w.Set[key] = k.Line
	}
	if len(problems) > 0 {
		return nil, joinLines(problems)
	}
	return w, nil
}

// resolve follows YAML aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "scalar"
	}
}

// example is a plausible value for key, for the fix part of an error.
func example(key string) string {
	switch key {
	case "keyDistributor":
		return KeyRoundRobin
	case "useRandomizedPayloads":
		return "true"
	case "randomBytesRatio", "backlogDrainRatio":
		return "0.5"
	case "name":
		return "1 topic / 1 partition / 1kb"
	case "payloadFile":
		return "payload/payload-1Kb.data"
	case "messageSize":
		return "1024"
	case "producerRate":
		return "50000"
	case "testDurationMinutes":
		return "15"
	default:
		return "1"
	}
}

// syntaxError turns a yaml.v3 error into "file:line: syntax: ...; fix the
// YAML there". yaml.v3 reports some parser errors one line early (0-based);
// the scenarios package corrects for the same quirk.
func syntaxError(name string, err error) error {
	msg := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "yaml: ")), " ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				if parserProblem(text) {
					line++
				}
				return fmt.Errorf("%s:%d: syntax: %s; fix the YAML there", name, line, text)
			}
		}
	}
	return fmt.Errorf("%s: syntax: %s; fix the YAML", name, msg)
}

// parserProblem reports whether text is one of yaml.v3's parser (not
// scanner) messages, the ones v3.0.1 numbers 0-based.
func parserProblem(text string) bool {
	if strings.HasPrefix(text, "did not find expected ") {
		return true
	}
	switch text {
	case "found duplicate %TAG directive", "found duplicate %YAML directive",
		"found incompatible YAML document", "found undefined tag handle":
		return true
	}
	return false
}

func joinLines(lines []string) error {
	errs := make([]error, len(lines))
	for i, l := range lines {
		errs[i] = errors.New(l)
	}
	return errors.Join(errs...)
}
