// Package omb imports OpenMessaging Benchmark (OMB) workload files: it reads
// the YAML that OMB's io.openmessaging.benchmark.Workload describes and
// turns it into an evbench scenario, the store parameters the workload
// implies (Kafka partitions), and one warning for everything evbench cannot
// reproduce exactly, so a peer comparison never hides a difference.
package omb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/evbench/evbench/scenarios"
)

// OMB constants the mapping depends on (openmessaging/benchmark).
const (
	// OMBKeys is KeyDistributor.UNIQUE_COUNT: KEY_ROUND_ROBIN and
	// RANDOM_NANO draw from this many distinct keys.
	OMBKeys = 10_000
	// ProbeStartRate is the rate OMB's search for the maximum rate starts
	// at (producerRate: 0); the converted scenario uses it as a placeholder.
	ProbeStartRate = 10_000
	// gib is OMB's "GB": consumerBacklogSizeGB * 1024 * 1024 * 1024.
	gib = 1 << 30
)

// Result is one converted workload.
type Result struct {
	// Source is the OMB file's path.
	Source string
	// Workload is the file as OMB reads it (Java defaults filled in).
	Workload *Workload
	// Scenario is YAML decoded by scenarios.Parse, so it is exactly what a
	// run of the printed file gets, and it passes scenarios.Validate.
	Scenario *scenarios.Scenario
	// YAML is the scenario alone (no header comments).
	YAML []byte
	// Partitions is topics x partitionsPerTopic, the partition count of the
	// one topic evbench drives.
	Partitions int
	// DSNParams are the store parameters the workload implies, by driver
	// ("kafka": {"partitions": "100"}). A driver not listed needs none.
	DSNParams map[string]map[string]string
	// NeedsProbe is set for producerRate: 0, OMB's "find the maximum rate":
	// the scenario's load.start is a placeholder and evbench probe answers.
	NeedsProbe bool
	// Warnings say where evbench does not do what OMB would; Notes explain
	// mappings that are faithful but not obvious.
	Warnings, Notes []string
}

// Convert reads the OMB workload at path and converts it. Errors (unreadable
// file, bad YAML, wrong types, impossible values) are one
// "file:line: field: problem; fix" line each.
func Convert(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read OMB workload: %w", path, err)
	}
	w, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return FromWorkload(path, w)
}

// converter carries one conversion's findings.
type converter struct {
	path     string
	w        *Workload
	problems []string
	r        *Result
}

// at is "file:line" of an OMB field, or "file" when the file left it out.
func (c *converter) at(field string) string {
	if l := c.w.Set[field]; l > 0 {
		return c.path + ":" + strconv.Itoa(l)
	}
	return c.path
}

func (c *converter) bad(field, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s: %s: %s", c.at(field), field, fmt.Sprintf(format, args...)))
}

func (c *converter) warn(format string, args ...any) {
	c.r.Warnings = append(c.r.Warnings, fmt.Sprintf(format, args...))
}

func (c *converter) note(format string, args ...any) {
	c.r.Notes = append(c.r.Notes, fmt.Sprintf(format, args...))
}

func (c *converter) set(field string) bool { _, ok := c.w.Set[field]; return ok }

// FromWorkload converts a parsed workload; path names the file in messages
// and anchors a relative payloadFile.
func FromWorkload(path string, w *Workload) (*Result, error) {
	c := &converter{path: path, w: w, r: &Result{Source: path, Workload: w}}
	c.check()
	if len(c.problems) > 0 {
		return nil, joinLines(c.problems)
	}
	sc := c.mapScenario()
	if len(c.problems) > 0 {
		return nil, joinLines(c.problems)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(sc); err != nil {
		return nil, fmt.Errorf("%s: encode converted scenario: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%s: encode converted scenario: %w", path, err)
	}
	data := buf.Bytes()
	// Decoding the YAML again (rather than returning sc) gives the run
	// exactly what the printed file gives, explicit zeros included.
	parsed, err := scenarios.Parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s: converted scenario does not parse (a converter bug; please report it): %w", path, err)
	}
	if err := scenarios.Validate(parsed, scenarios.ValidateOptions{}); err != nil {
		return nil, fmt.Errorf("%s: converted scenario is invalid (a converter bug; please report it): %w", path, err)
	}
	parsed.Source = path
	c.r.Scenario, c.r.YAML = parsed, data
	return c.r, nil
}

// check rejects what OMB itself could not run, or could only run forever,
// naming the OMB field and the fix.
func (c *converter) check() {
	w := c.w
	missing := func(f string) string {
		if !c.set(f) {
			return "missing"
		}
		return strconv.FormatInt(fieldInt(w, f), 10)
	}
	if w.Topics < 1 {
		c.bad("topics", "%s; need at least 1 topic, e.g. topics: 1", missing("topics"))
	}
	if w.PartitionsPerTopic < 1 {
		c.bad("partitionsPerTopic", "%s; need at least 1 partition per topic (1 = unpartitioned), e.g. partitionsPerTopic: 16", missing("partitionsPerTopic"))
	}
	if w.Topics >= 1 && w.PartitionsPerTopic >= 1 && w.Topics*w.PartitionsPerTopic > math.MaxInt32 {
		c.bad("partitionsPerTopic", "topics x partitionsPerTopic = %d is more than one topic can have (%d); lower one of them", w.Topics*w.PartitionsPerTopic, math.MaxInt32)
	}
	if w.MessageSize <= 0 {
		c.bad("messageSize", "%s; write the message size in bytes, e.g. messageSize: 1024", missing("messageSize"))
	}
	if w.ProducersPerTopic < 1 {
		c.bad("producersPerTopic", "%s; no producer would publish: write 1 or more", missing("producersPerTopic"))
	}
	if w.SubscriptionsPerTopic < 0 {
		c.bad("subscriptionsPerTopic", "%d is negative; write 0 (produce only) or more, e.g. 1", w.SubscriptionsPerTopic)
	}
	switch {
	case w.ConsumerPerSubscription < 0:
		c.bad("consumerPerSubscription", "%d is negative; write 1 or more", w.ConsumerPerSubscription)
	case w.ConsumerPerSubscription == 0 && w.SubscriptionsPerTopic > 0:
		c.bad("consumerPerSubscription", "%s with subscriptionsPerTopic %d: OMB would wait for consumers that never start; write 1 or more", missing("consumerPerSubscription"), w.SubscriptionsPerTopic)
	}
	if w.ProducerRate < 0 {
		c.bad("producerRate", "%d is negative; write the total publish rate in msg/s across all producers, e.g. 50000, or 0 to search for the maximum sustainable rate", w.ProducerRate)
	}
	if w.ConsumerBacklogSizeGB < 0 {
		c.bad("consumerBacklogSizeGB", "%d is negative; write 0 (no backlog) or the backlog to build in GiB, e.g. 1", w.ConsumerBacklogSizeGB)
	}
	if w.ConsumerBacklogSizeGB > 0 && w.SubscriptionsPerTopic == 0 {
		c.bad("consumerBacklogSizeGB", "%d GiB with no subscription: the backlog is what subscriptions have not read, so it never builds; set subscriptionsPerTopic: 1 or consumerBacklogSizeGB: 0", w.ConsumerBacklogSizeGB)
	}
	if !(w.BacklogDrainRatio >= 0 && w.BacklogDrainRatio <= 1) {
		c.bad("backlogDrainRatio", "%g is outside [0,1]; write the fraction of the backlog to drain, e.g. 1 (all of it)", w.BacklogDrainRatio)
	}
	if !(w.RandomBytesRatio >= 0 && w.RandomBytesRatio <= 1) {
		c.bad("randomBytesRatio", "%g is outside [0,1]; write the fraction of each payload that is random, e.g. 1 (incompressible) or 0.5", w.RandomBytesRatio)
	}
	switch {
	case w.TestDurationMinutes < 0:
		c.bad("testDurationMinutes", "%d is negative; write the measured minutes, e.g. testDurationMinutes: 15", w.TestDurationMinutes)
	case w.TestDurationMinutes == 0:
		c.bad("testDurationMinutes", "%s; OMB would measure until stopped: write the measured minutes, e.g. testDurationMinutes: 15", missing("testDurationMinutes"))
	}
	if w.WarmupDurationMinutes < 0 {
		c.bad("warmupDurationMinutes", "%d is negative; write 0 (no warm-up) or minutes, e.g. 1", w.WarmupDurationMinutes)
	}
	if w.UseRandomizedPayloads {
		switch n := w.RandomizedPayloadPoolSize; {
		case n < 1:
			c.bad("randomizedPayloadPoolSize", "%s with useRandomizedPayloads: true gives OMB no payload to send; write the number of distinct payloads, e.g. 1000", missing("randomizedPayloadPoolSize"))
		case n > scenarios.MaxPayloadPool:
			c.bad("randomizedPayloadPoolSize", "%d is more than evbench's %d distinct payloads; write %d or fewer", n, scenarios.MaxPayloadPool, scenarios.MaxPayloadPool)
		case w.MessageSize > 0 && n*w.MessageSize > scenarios.MaxPayloadPoolBytes:
			c.bad("randomizedPayloadPoolSize", "%d payloads of %d bytes would hold %d MiB, more than evbench's %d MiB payload pool; write at most %d",
				n, w.MessageSize, n*w.MessageSize>>20, scenarios.MaxPayloadPoolBytes>>20, max(1, scenarios.MaxPayloadPoolBytes/w.MessageSize))
		}
	}
}

func fieldInt(w *Workload, f string) int64 {
	switch f {
	case "topics":
		return w.Topics
	case "partitionsPerTopic":
		return w.PartitionsPerTopic
	case "messageSize":
		return w.MessageSize
	case "producersPerTopic":
		return w.ProducersPerTopic
	case "consumerPerSubscription":
		return w.ConsumerPerSubscription
	case "randomizedPayloadPoolSize":
		return w.RandomizedPayloadPoolSize
	case "testDurationMinutes":
		return w.TestDurationMinutes
	}
	return 0
}

// mapScenario maps every OMB field; see docs/scenarios.md, "OpenMessaging
// Benchmark workloads", for the table and the reasons.
func (c *converter) mapScenario() *scenarios.Scenario {
	w, r := c.w, c.r
	sc := &scenarios.Scenario{
		Name:        c.name(),
		Description: fmt.Sprintf("OpenMessaging Benchmark workload %q from %s, converted by evbench import omb", w.Name, filepath.Base(c.path)),
	}

	// Topics and partitions: one evbench stream set, so all topics fold
	// into one topic whose partition count is the workload's total.
	r.Partitions = int(w.Topics * w.PartitionsPerTopic)
	r.DSNParams = map[string]map[string]string{"kafka": {"partitions": strconv.Itoa(r.Partitions)}}
	if w.Topics > 1 {
		c.warn("topics: %d: evbench drives one topic, so the %d topics x %d partitions are folded into one topic of %d partitions (kafka partitions=%d); per-topic producers, consumers and metadata are not reproduced",
			w.Topics, w.Topics, w.PartitionsPerTopic, r.Partitions, r.Partitions)
	}
	c.note("nats has no partitions: one JetStream stream, each key its own subject (keys.count >= %d), so no DSN parameter is needed", r.Partitions)

	// Keys.
	keys := &sc.Events.Keys
	keys.Count = max(OMBKeys, r.Partitions)
	switch w.KeyDistributor {
	case KeyRoundRobin:
		keys.Distribution = "roundrobin"
		c.note("keyDistributor: KEY_ROUND_ROBIN cycles through OMB's %d keys: distribution roundrobin over %d keys", OMBKeys, keys.Count)
	case RandomNano:
		keys.Distribution = "uniform"
		c.note("keyDistributor: RANDOM_NANO picks key nanoTime %% %d, in effect uniform: distribution uniform over %d keys", OMBKeys, keys.Count)
	default:
		keys.Distribution = "uniform"
		sc.Expect.Order = scenarios.OrderNone
		c.note("keyDistributor: NO_KEY publishes without a key (the client spreads messages over partitions); evbench events always have one, so %d uniform keys stand in and per-key order is not checked (expect.order: none), as no key means no order to keep", keys.Count)
	}
	if r.Partitions > OMBKeys {
		c.note("keys.count is the partition count, %d, not OMB's %d keys, so every partition gets events", r.Partitions, OMBKeys)
	}

	c.mapPayload(sc)
	c.mapConsumers(sc)
	c.mapLoad(sc)

	for _, f := range w.Unknown {
		c.warn("%s:%d: unknown field %q: OMB's Workload has no such field (OMB ignores it); not mapped", c.path, f.Line, f.Name)
	}
	return sc
}

// name slugifies the workload's name ("1 topic / 1 partition / 100b" ->
// "1-topic-1-partition-100b"), else the file's.
func (c *converter) name() string {
	if s := slug(c.w.Name); s != "" {
		return s
	}
	base := strings.TrimSuffix(filepath.Base(c.path), filepath.Ext(c.path))
	if s := slug(base); s != "" {
		return s
	}
	return "omb-workload"
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// mapPayload maps messageSize, the randomized-payload fields and
// payloadFile onto payload: random, whose exact sizes and random prefix are
// modelled on OMB's.
func (c *converter) mapPayload(sc *scenarios.Scenario) {
	w, e := c.w, &sc.Events
	e.Payload = scenarios.PayloadRandom
	e.Batch = 1
	size, sizeField := w.MessageSize, "messageSize"
	if w.UseRandomizedPayloads {
		e.PayloadPool = int(w.RandomizedPayloadPoolSize)
		e.RandomRatio = w.RandomBytesRatio
		if !c.set("randomBytesRatio") {
			c.warn("randomBytesRatio not given: OMB's default 0.0 makes every payload all zeros (maximally compressible); copied as random_ratio: 0")
		}
		if w.PayloadFile != "" {
			c.note("payloadFile %q is not used: OMB ignores it with useRandomizedPayloads: true", w.PayloadFile)
		}
	} else {
		// OMB sends one payload, the file's bytes, over and over.
		e.PayloadPool = 1
		e.RandomRatio = 1 // OMB's payload files are random bytes
		if c.set("randomBytesRatio") {
			e.RandomRatio = w.RandomBytesRatio
		}
		if c.set("randomizedPayloadPoolSize") {
			c.note("randomizedPayloadPoolSize is not used: OMB sends the one payloadFile without useRandomizedPayloads: true")
		}
		switch file, found, tried := c.findPayloadFile(); {
		case w.PayloadFile == "":
			c.warn("no payloadFile and useRandomizedPayloads is false, so OMB has no payload to send; evbench sends one random payload of messageSize (%d bytes)", w.MessageSize)
		case !found:
			c.warn("payloadFile %q not found (looked in %s): using messageSize, %d bytes, of random bytes", w.PayloadFile, strings.Join(tried, ", "), w.MessageSize)
		default:
			st, err := os.Stat(file)
			if err != nil {
				c.bad("payloadFile", "%q: %v; fix the path", file, err)
				return
			}
			size, sizeField = st.Size(), "payloadFile"
			c.warn("payloadFile %s: evbench cannot send a file's bytes, so it sends one random payload (random_ratio %g) of exactly the file's %d bytes instead", file, e.RandomRatio, size)
			if size != w.MessageSize {
				c.warn("payloadFile is %d bytes but messageSize is %d: OMB sends the file as it is, so events are %d bytes; the backlog is sized with messageSize, as OMB does", size, w.MessageSize, size)
			}
		}
	}
	switch {
	case size < scenarios.MinRandomSize:
		c.bad(sizeField, "%d bytes is below evbench's smallest exact payload, %d bytes; use %d or more", size, scenarios.MinRandomSize, scenarios.MinRandomSize)
	case size > scenarios.MaxPayloadPoolBytes:
		c.bad(sizeField, "%d bytes is more than evbench's 1 GiB payload limit; use a smaller message", size)
	}
	e.Size = scenarios.Size{Min: int(size), Max: int(size)}
}

// findPayloadFile looks for payloadFile next to the workload, then one
// folder up (OMB's layout: workloads/x.yaml beside payload/), then in the
// working directory (where OMB itself resolves it).
func (c *converter) findPayloadFile() (path string, found bool, tried []string) {
	pf := c.w.PayloadFile
	if pf == "" {
		return "", false, nil
	}
	cands := []string{pf}
	if !filepath.IsAbs(pf) {
		dir := filepath.Dir(c.path)
		cands = []string{filepath.Join(dir, pf), filepath.Join(filepath.Dir(dir), pf), pf}
	}
	seen := map[string]bool{}
	for _, p := range cands {
		p = filepath.Clean(p)
		if seen[p] {
			continue
		}
		seen[p] = true
		tried = append(tried, p)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true, tried
		}
	}
	return "", false, tried
}

// mapConsumers maps subscriptions to projectors: each OMB subscription
// receives every message, as each projector reads the whole stream.
func (c *converter) mapConsumers(sc *scenarios.Scenario) {
	w := c.w
	sc.Consumers.Projectors = int(w.SubscriptionsPerTopic)
	sc.Consumers.Rebuild = "none"
	sc.Consumers.Drain = scenarios.DefaultDrain
	if w.SubscriptionsPerTopic == 0 {
		c.note("subscriptionsPerTopic: 0: produce only, no projector (no end-to-end latency)")
	} else if w.Topics > 1 {
		c.note("each of the %d projectors reads the folded topic, standing for one subscription on every one of the %d topics", w.SubscriptionsPerTopic, w.Topics)
	}
	if w.ConsumerPerSubscription > 1 && w.SubscriptionsPerTopic > 0 {
		c.warn("consumerPerSubscription: %d: OMB splits each subscription's partitions over %d consumers; an evbench projector reads the whole stream alone, so each subscription has 1 reader, not %d",
			w.ConsumerPerSubscription, w.ConsumerPerSubscription, w.ConsumerPerSubscription)
	}
}

// mapLoad maps the rate, the warm-up, the test and the backlog.
func (c *converter) mapLoad(sc *scenarios.Scenario) {
	w, r, l := c.w, c.r, &sc.Load
	if producers := w.ProducersPerTopic * w.Topics; producers > 1 {
		c.warn("producersPerTopic: %d producers share producerRate in OMB; evbench offers the same total rate from one open-loop generator (concurrent appends capped by load.max_in_flight), without per-producer connections or batching", producers)
	}
	if w.ProducerRate == 0 {
		r.NeedsProbe = true
		l.Start = ProbeStartRate
		why := "producerRate: 0"
		if !c.set("producerRate") {
			why = "producerRate not given (OMB's default 0)"
		}
		c.warn("%s asks for the maximum sustainable rate: load.start %d (where OMB's search starts) is a placeholder; evbench probe searches for the rate", why, ProbeStartRate)
	} else {
		l.Start = float64(w.ProducerRate)
	}
	warmup := time.Duration(w.WarmupDurationMinutes) * time.Minute
	test := time.Duration(w.TestDurationMinutes) * time.Minute
	if !c.set("warmupDurationMinutes") {
		c.note("warmupDurationMinutes not given: OMB's default, 1 minute, is used")
	}
	l.Warmup = scenarios.Duration(warmup)
	var pause time.Duration
	switch {
	case w.ConsumerBacklogSizeGB == 0:
		if c.set("backlogDrainRatio") {
			c.note("backlogDrainRatio is not used without consumerBacklogSizeGB, as in OMB")
		}
	case r.NeedsProbe:
		c.warn("consumerBacklogSizeGB: %d: the pause that builds the backlog depends on the rate, unknown with producerRate: 0; no pause is scheduled", w.ConsumerBacklogSizeGB)
	default:
		// OMB counts the backlog as subscriptionsPerTopic x messagesSent -
		// messagesReceived, times messageSize, and stops consumers until it
		// reaches consumerBacklogSizeGB GiB.
		perSec := float64(w.SubscriptionsPerTopic) * float64(w.ProducerRate) * float64(w.MessageSize)
		secs := math.Ceil(float64(w.ConsumerBacklogSizeGB) * gib / perSec)
		pause = time.Duration(secs) * time.Second
		sc.Consumers.Pause = []scenarios.Pause{{At: scenarios.Duration(warmup), For: scenarios.Duration(pause)}}
		sc.Consumers.Drain = scenarios.Duration(max(scenarios.DefaultDrain.D(), pause))
		c.warn("consumerBacklogSizeGB: %d: consumers pause at %v for %v, until the backlog is %d GiB at %d msg/s x %d bytes x %d subscription(s) (OMB's count), then catch up; OMB drains before its %v test window starts, so the load is extended by the pause to %v (warm-up + pause + test) and the catch-up falls in the test window",
			w.ConsumerBacklogSizeGB, warmup, pause, w.ConsumerBacklogSizeGB, w.ProducerRate, w.MessageSize, w.SubscriptionsPerTopic, test, warmup+pause+test)
		if w.BacklogDrainRatio != 1 {
			c.warn("backlogDrainRatio: %g: OMB ends its drain when %.4g%% of the backlog is left; evbench measures catch-up to the head (a ratio of 1)", w.BacklogDrainRatio, 100*(1-w.BacklogDrainRatio))
		}
	}
	l.Duration = scenarios.Duration(warmup + pause + test)
}

// Render is the scenario YAML with a header of comments: where it came from,
// the DSN parameters to use, how to find the rate for producerRate: 0, and
// every note and warning. It parses as the scenario itself.
func (r *Result) Render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# evbench scenario converted from the OpenMessaging Benchmark workload %s\n", r.Source)
	fmt.Fprintf(&b, "# (evbench import omb); run the workload directly with: evbench run --omb %s\n", r.Source)
	fmt.Fprintf(&b, "# store parameters (topics x partitionsPerTopic = %d partition(s)):\n", r.Partitions)
	drivers := make([]string, 0, len(r.DSNParams))
	for d := range r.DSNParams {
		drivers = append(drivers, d)
	}
	sort.Strings(drivers)
	for _, d := range drivers {
		fmt.Fprintf(&b, "#   %s: --dsn '%s'\n", d, ExampleDSN(d, r.DSNParams[d]))
	}
	fmt.Fprintf(&b, "#   other drivers: no parameter needed\n")
	if r.NeedsProbe {
		fmt.Fprintf(&b, "# producerRate: 0 asks for the maximum rate: save this file and run `evbench probe FILE`, or run `evbench run --omb %s`, which probes\n", r.Source)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "# note: %s\n", oneLine(n))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", oneLine(w))
	}
	b.Write(r.YAML)
	return b.Bytes()
}

// exampleHosts are the addresses shown in Render's --dsn examples.
var exampleHosts = map[string]string{"kafka": "kafka://127.0.0.1:9092"}

// ExampleDSN is a DSN for driver with params, for the header and docs.
func ExampleDSN(driver string, params map[string]string) string {
	host := exampleHosts[driver]
	if host == "" {
		host = driver + "://HOST:PORT"
	}
	return host + "?" + EncodeParams(params)
}

// EncodeParams writes params as a sorted query string ("partitions=100").
func EncodeParams(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(params[k])
	}
	return strings.Join(parts, "&")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
