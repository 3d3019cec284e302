// Package prom exports a run's live state to Prometheus.
//
// The runner publishes a live.Snapshot about once a second; Exporter keeps
// the latest and turns it into metrics when Prometheus scrapes. Every
// metric is a const metric built from that one snapshot, so a scrape sees
// one consistent instant of the run and the runner pays nothing per event
// for it: the numbers come from the recorders the run keeps anyway.
//
// The exporter has its own registry, not the process-wide default one,
// so that what /metrics serves is exactly this package's metrics plus the
// Go and process collectors, whatever else the binary links in.
package prom

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/evbench/evbench/live"
)

// phases are the run phases evbench_phase has a series for, in order: all
// of them in every scrape, so a panel can show a phase going 1 -> 0
// rather than a series vanishing.
var phases = []string{
	live.PhaseSetup, live.PhaseWarmup, live.PhaseLoad,
	live.PhaseDrain, live.PhaseRebuild, live.PhaseDone,
}

// histograms maps a Snapshot.Histograms key to the histogram metric it
// becomes.
var histograms = []struct{ Key, Name, Help string }{
	{"commit", "evbench_commit_latency_seconds",
		"Commit latency of the acknowledged appends over the whole run: scheduled time to durable ack (coordinated-omission corrected)."},
	{"service_time", "evbench_service_time_seconds",
		"Service time of the acknowledged appends over the whole run: actual send to ack."},
	{"e2e", "evbench_e2e_latency_seconds",
		"End-to-end latency over the whole run: scheduled time to projector applied (first deliveries)."},
}

// outcomes are the label values of evbench_events_total, with the
// Snapshot counter each reads.
var outcomes = []struct {
	label string
	value func(*live.Snapshot) int64
}{
	{"scheduled", func(s *live.Snapshot) int64 { return s.Scheduled }},
	{"sent", func(s *live.Snapshot) int64 { return s.Sent }},
	{"acked", func(s *live.Snapshot) int64 { return s.Acked }},
	{"failed", func(s *live.Snapshot) int64 { return s.Failed }},
	{"retried", func(s *live.Snapshot) int64 { return s.Retried }},
	{"gave_up", func(s *live.Snapshot) int64 { return s.GaveUp }},
	{"late", func(s *live.Snapshot) int64 { return s.Late }},
}

// Exporter is a live.Sink and a prometheus.Collector: Publish stores the
// latest snapshot, Collect turns it into metrics at each scrape. The zero
// value is not usable; call New.
type Exporter struct {
	mu     sync.Mutex
	last   live.Snapshot
	seeded bool

	reg *prometheus.Registry
	d   descs
}

// descs are the descriptors of the exporter's own metrics, built once.
type descs struct {
	events, outagesClosed, errors, delivered, misrouted *prometheus.Desc

	hist []*prometheus.Desc // parallel to histograms

	lag, inFlight, offered, achieved    *prometheus.Desc
	commitLast, e2eLast                 *prometheus.Desc
	elapsed, duration, clientLimited    *prometheus.Desc
	phase                               *prometheus.Desc
	faultActive, faultRemaining, outage *prometheus.Desc
	runInfo                             *prometheus.Desc
}

func newDescs() descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	ds := descs{
		events:        d("evbench_events_total", "Events of the run so far by outcome: scheduled by the load schedule, sent, acked by the store, failed, retried, gave_up after the last retry, late (sent behind their scheduled instant by more than the pacer's slack).", "outcome"),
		outagesClosed: d("evbench_outages_closed_total", "Outages (an operation failing continuously) that ended so far."),
		errors:        d("evbench_errors_total", "Store errors so far, all operations."),
		delivered:     d("evbench_delivered_total", "Events the projectors received so far, redeliveries included, summed over projectors."),
		misrouted:     d("evbench_misrouted_total", "Events a projector received under another key or sequence than they were appended with, summed over projectors."),

		lag:      d("evbench_lag_events", "Events the slowest projector is behind the head of the log."),
		inFlight: d("evbench_in_flight", "Appends sent and not yet answered."),
		offered:  d("evbench_offered_rate_events_per_second", "Events per second the load schedule asked for in the last second."),
		achieved: d("evbench_achieved_rate_events_per_second", "Events per second acknowledged in the last second."),
		commitLast: d("evbench_commit_latency_last_second_seconds",
			"Commit latency quantile of the last second (scheduled time to ack); absent when no append was acknowledged in it.", "quantile"),
		e2eLast: d("evbench_e2e_latency_last_second_seconds",
			"End-to-end latency quantile of the last second (scheduled time to projector applied); absent when nothing reached a projector in it.", "quantile"),
		elapsed:       d("evbench_elapsed_seconds", "Time since the run started."),
		duration:      d("evbench_duration_seconds", "Planned length of the load, warm-up included."),
		clientLimited: d("evbench_client_limited", "1 when evbench itself could not keep the offered rate in the last second (the harness, not the store, was the limit), else 0."),
		phase:         d("evbench_phase", "1 for the phase the run is in, 0 for the others.", "phase"),
		faultActive: d("evbench_fault_active", "Faults of the timeline active now, by kind and path (producer, consumer, both, store); normally 1.",
			"kind", "path"),
		faultRemaining: d("evbench_fault_remaining_seconds", "Time until an active fault is scheduled to end (the longest, if several share kind and path).",
			"kind", "path"),
		outage:  d("evbench_outage_active", "Outages open now, by operation (append, subscribe, head); normally 1.", "op"),
		runInfo: d("evbench_run_info", "The run's scenario, driver and durability label; always 1.", "scenario", "driver", "durability"),
	}
	for _, h := range histograms {
		ds.hist = append(ds.hist, d(h.Name, h.Help))
	}
	return ds
}

// New returns an Exporter with its own registry holding the exporter, the
// Go runtime collector and the process collector.
func New() *Exporter {
	e := &Exporter{reg: prometheus.NewRegistry(), d: newDescs()}
	e.reg.MustRegister(
		e,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return e
}

// Publish stores s as the latest snapshot. It only takes a mutex that
// Collect holds for a struct copy, so it never waits on a scrape.
func (e *Exporter) Publish(s live.Snapshot) {
	e.mu.Lock()
	e.last, e.seeded = s, true
	e.mu.Unlock()
}

// Registry is the exporter's registry, for serving or for a Gather in a
// test. Registering more collectors on it adds them to /metrics.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Describe sends the descriptors of every metric Collect may send.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	d := &e.d
	for _, x := range []*prometheus.Desc{
		d.events, d.outagesClosed, d.errors, d.delivered, d.misrouted,
		d.lag, d.inFlight, d.offered, d.achieved, d.commitLast, d.e2eLast,
		d.elapsed, d.duration, d.clientLimited, d.phase,
		d.faultActive, d.faultRemaining, d.outage, d.runInfo,
	} {
		ch <- x
	}
	for _, x := range d.hist {
		ch <- x
	}
}

// Collect turns the latest snapshot into metrics. Before the first
// snapshot it serves the zero snapshot (counters at 0, no phase set)
// without run info, which it does not know yet.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	s, seeded := e.last, e.seeded
	e.mu.Unlock()
	d := &e.d

	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(desc, prometheus.GaugeValue, v, labels...)
	}

	for _, o := range outcomes {
		counter(d.events, float64(o.value(&s)), o.label)
	}
	counter(d.outagesClosed, float64(s.OutagesClosed))
	counter(d.errors, float64(s.Errors))
	counter(d.delivered, float64(s.Delivered))
	counter(d.misrouted, float64(s.Misrouted))

	for i, h := range histograms {
		if hs, ok := s.Histograms[h.Key]; ok {
			ch <- constHistogram(d.hist[i], h.Key, hs)
		}
	}

	gauge(d.lag, float64(s.Lag))
	gauge(d.inFlight, float64(s.InFlight))
	gauge(d.offered, s.OfferedRate)
	gauge(d.achieved, s.AchievedRate)
	// The snapshot's 0 means "nothing closed in the last second", not a
	// latency of 0: leave the series absent rather than plot a false 0.
	for _, q := range []struct {
		desc  *prometheus.Desc
		label string
		ms    float64
	}{
		{d.commitLast, "0.5", s.CommitP50},
		{d.commitLast, "0.99", s.CommitP99},
		{d.e2eLast, "0.99", s.E2EP99},
	} {
		if q.ms > 0 {
			gauge(q.desc, q.ms/1000, q.label)
		}
	}
	gauge(d.elapsed, s.Elapsed.Seconds())
	gauge(d.duration, s.Total.Seconds())
	gauge(d.clientLimited, bool01(s.ClientLimited))

	known := false
	for _, p := range phases {
		gauge(d.phase, bool01(p == s.Phase), p)
		known = known || p == s.Phase
	}
	if !known && s.Phase != "" {
		// A phase newer than this list: show it rather than lose it.
		gauge(d.phase, 1, s.Phase)
	}

	collectFaults(ch, d, s.Faults)
	collectOutages(ch, d, s.Outages)

	if seeded {
		gauge(d.runInfo, 1, s.Scenario, s.Driver, s.Durability)
	}
}

// constMetric is prometheus.MustNewConstMetric without the panic: a label
// value that is not valid UTF-8 (a scenario or fault name from a badly
// encoded file) fails that series of the scrape, not the whole evbench
// process, which a panic in Collect would bring down mid-run.
func constMetric(desc *prometheus.Desc, typ prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, typ, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, fmt.Errorf("labels %q: %w", labels, err))
	}
	return m
}

// constHistogram builds one histogram metric, or an invalid metric that
// fails only this series of the scrape (the handler continues on error)
// when the snapshot's histogram is malformed.
func constHistogram(desc *prometheus.Desc, key string, h live.Histogram) prometheus.Metric {
	bounds := h.Bounds
	if len(bounds) == 0 {
		bounds = live.LatencyBounds
	}
	if len(bounds) != len(h.Counts) {
		return prometheus.NewInvalidMetric(desc, fmt.Errorf(
			"snapshot histogram %q: %d bounds but %d counts", key, len(bounds), len(h.Counts)))
	}
	buckets := make(map[float64]uint64, len(bounds))
	for i, b := range bounds {
		buckets[b] = h.Counts[i]
	}
	m, err := prometheus.NewConstHistogram(desc, h.Count, h.Sum, buckets)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, fmt.Errorf("snapshot histogram %q: %w", key, err))
	}
	return m
}

// collectFaults sends one evbench_fault_active and one
// evbench_fault_remaining_seconds per distinct (kind, path). Two active
// faults may share both (overlapping windows of the timeline); the same
// labels twice would fail the scrape, so they are counted together.
func collectFaults(ch chan<- prometheus.Metric, d *descs, faults []live.Fault) {
	type key struct{ kind, path string }
	type agg struct {
		n         int
		remaining float64
	}
	var order []key
	seen := map[key]*agg{}
	for _, f := range faults {
		k := key{f.Kind, f.Path}
		a, ok := seen[k]
		if !ok {
			a = &agg{}
			seen[k] = a
			order = append(order, k)
		}
		a.n++
		a.remaining = max(a.remaining, f.Remaining.Seconds())
	}
	for _, k := range order {
		a := seen[k]
		ch <- constMetric(d.faultActive, prometheus.GaugeValue, float64(a.n), k.kind, k.path)
		ch <- constMetric(d.faultRemaining, prometheus.GaugeValue, a.remaining, k.kind, k.path)
	}
}

// collectOutages sends one evbench_outage_active per distinct operation,
// counting duplicates together for the same reason as collectFaults.
func collectOutages(ch chan<- prometheus.Metric, d *descs, outages []live.Outage) {
	var order []string
	n := map[string]int{}
	for _, o := range outages {
		if n[o.Op] == 0 {
			order = append(order, o.Op)
		}
		n[o.Op]++
	}
	for _, op := range order {
		ch <- constMetric(d.outage, prometheus.GaugeValue, float64(n[op]), op)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
