package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/fixtures"
	"github.com/evbench/evbench/patterns/upcast"
	"github.com/evbench/evbench/reports/measure"
	"github.com/evbench/evbench/scenarios"
)

// Schema evolution (events.versions, consumers.canary): the source writes
// each type at the version the timeline says, and two readers consume the
// store beside the projectors: the current one, which knows every type's
// newest version and upcasts older events (patterns/upcast), and the
// canary, which knows only an old version and has no upcasters. What the
// canary cannot read is what a schema change breaks for consumers that
// were not redeployed; what the current reader upcasts, and how long that
// takes, is the price of keeping old events readable.

// versionTimeline is the producer side: the version each type is written
// at, switched by event number. A switch at time at applies to the events
// the schedule puts at or after at, so the switch is exact and
// deterministic whatever the store's latency. Used by the generator
// goroutine only.
type versionTimeline struct {
	types    []string
	switches []versionSwitch // by event number
	at       int             // next switch
	cur      []int           // type index -> version written now
	produced [][]int64       // type index -> version -> events
}

type versionSwitch struct {
	from    int64 // first event number written at version
	typ     int   // type index
	version int
}

// newVersionTimeline returns the timeline of sc over pool, or nil when the
// scenario measures no schema evolution or its payloads are a fixture's
// (whose lines carry their own versions).
func newVersionTimeline(sc *scenarios.Scenario, pool *fixtures.Pool) (*versionTimeline, error) {
	if !sc.SchemaEvolution() || sc.Events.Fixture != "" {
		return nil, nil
	}
	types := pool.Types()
	vt := &versionTimeline{types: types, cur: make([]int, len(types)), produced: make([][]int64, len(types))}
	index := map[string]int{}
	for i, t := range types {
		vt.cur[i] = 1
		vt.produced[i] = make([]int64, 2)
		if _, dup := index[t]; !dup {
			index[t] = i
		}
	}
	sched := NewSchedule(sc.Load)
	for _, sw := range sc.Events.Versions {
		i, ok := index[sw.Type]
		if !ok || !pool.HasVersion(sw.Type, sw.Version) {
			return nil, fmt.Errorf("events.versions: no payloads of %s version %d were made", sw.Type, sw.Version)
		}
		from := int64(math.Ceil(sched.CountAt(sw.At.D()) - 1e-9))
		vt.switches = append(vt.switches, versionSwitch{from: from, typ: i, version: sw.Version})
		for len(vt.produced[i]) <= sw.Version {
			vt.produced[i] = append(vt.produced[i], 0)
		}
	}
	sort.SliceStable(vt.switches, func(a, b int) bool { return vt.switches[a].from < vt.switches[b].from })
	return vt, nil
}

// next picks the type of event number n and its payload at the type's
// current version: no allocation, one comparison per event between switches.
func (vt *versionTimeline) next(pool *fixtures.Pool, n int64) (string, []byte) {
	for vt.at < len(vt.switches) && n >= vt.switches[vt.at].from {
		sw := vt.switches[vt.at]
		vt.cur[sw.typ] = sw.version
		vt.at++
	}
	i := pool.PickIndex()
	v := vt.cur[i]
	vt.produced[i][v]++
	typ := vt.types[i]
	return typ, pool.NextVersion(typ, v)
}

// producedCounts are the events handed to the generator by type and
// version. Only once the generator stopped.
func (vt *versionTimeline) producedCounts() []measure.TypeVersionCount {
	out := []measure.TypeVersionCount{}
	seen := map[string]bool{}
	for i, t := range vt.types {
		if seen[t] {
			continue
		}
		seen[t] = true
		for v, n := range vt.produced[i] {
			if n > 0 {
				out = append(out, measure.TypeVersionCount{Type: t, Version: v, Events: n})
			}
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Type != out[b].Type {
			return out[a].Type < out[b].Type
		}
		return out[a].Version < out[b].Version
	})
	return out
}

// schemaReader subscribes from the run's start cursor like a projector and
// decodes every payload of this run's events with its upcast.Reader.
type schemaReader struct {
	version int // canary: its version; 0 = current
	drv     drivers.Driver
	ledger  *ledger
	decoder *upcast.Reader
	errs    *errorCounter
	stats   *upcast.Stats // written by the subscription callback only
	seen    []uint64      // key index -> highest sequence decoded
	dups    int64

	mu     sync.Mutex
	cursor drivers.Cursor
}

// schemaReaders are the run's two readers (canary nil without one).
type schemaReaders struct {
	current, canary *schemaReader
	drained         bool
}

// startSchemaReaders starts the readers when the scenario measures schema
// evolution; they stop with ctx (wg counts them), like the projectors.
func (r *run) startSchemaReaders(ctx context.Context, consumer drivers.Driver, from drivers.Cursor, wg *sync.WaitGroup) {
	if !r.sc.SchemaEvolution() {
		return
	}
	types := scenarios.RunTypes(r.sc.Events)
	reg, err := upcast.Catalogue(types)
	if err != nil { // the catalogue is ours: a test covers it
		r.cfg.Logf("schema evolution: %v", err)
		return
	}
	newReader := func(version int, dec *upcast.Reader) *schemaReader {
		return &schemaReader{version: version, drv: consumer, ledger: r.ledger, decoder: dec, errs: r.errs,
			stats: upcast.NewStats(), seen: make([]uint64, len(r.ledger.sent)), cursor: from.Clone()}
	}
	r.schema = &schemaReaders{current: newReader(0, upcast.NewReader(reg, upcast.Newest))}
	if c := r.sc.Consumers.Canary; c != nil {
		r.schema.canary = newReader(c.Version, upcast.NewReader(nil, upcast.UpTo(c.Version)))
	}
	for _, sr := range r.schema.all() {
		wg.Add(1)
		go func() { defer wg.Done(); sr.run(ctx) }()
	}
}

func (s *schemaReaders) all() []*schemaReader {
	out := []*schemaReader{s.current}
	if s.canary != nil {
		out = append(out, s.canary)
	}
	return out
}

// drainSchemaReaders waits, after the projectors' drain, until both readers
// reached the head (bounded by consumers.drain), so their counts cover
// every acknowledged event.
func (r *run) drainSchemaReaders(ctx context.Context, control drivers.Driver) {
	if r.schema == nil || ctx.Err() != nil {
		return
	}
	timeout := r.sc.Consumers.Drain.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		head, err := control.Head(hctx)
		cancel()
		if err == nil {
			behind := int64(0)
			for _, sr := range r.schema.all() {
				behind += drivers.Lag(head, sr.position())
			}
			if behind == 0 {
				r.schema.drained = true
				return
			}
		}
		if time.Now().After(deadline) {
			r.cfg.Logf("schema readers did not reach the head within consumers.drain=%v", timeout)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (sr *schemaReader) position() drivers.Cursor {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.cursor.Clone()
}

// run subscribes until ctx ends, resubscribing from the cursor after a
// broken subscription (with backoff, errors counted as the projectors').
func (sr *schemaReader) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := sr.drv.Subscribe(ctx, sr.position(), sr.apply)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("subscription ended without an error")
		}
		sr.errs.add(opSubscribe, fmt.Errorf("schema reader: %w", err), 1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// apply decodes this run's events once each (redeliveries skipped by the
// per-key high-water mark) and advances the cursor.
func (sr *schemaReader) apply(batch []drivers.Delivered) error {
	for i := range batch {
		d := &batch[i]
		if !sr.ledger.ours(&d.ID) {
			continue
		}
		key, seq := decodeID(&d.ID)
		if key >= uint64(len(sr.seen)) {
			continue
		}
		if seq <= sr.seen[key] {
			sr.dups++
			continue
		}
		sr.seen[key] = seq
		sr.stats.Observe(sr.decoder.Decode(d.Payload))
	}
	sr.mu.Lock()
	for i := range batch {
		sr.cursor.Advance(batch[i].Position)
	}
	sr.mu.Unlock()
	return nil
}

// schemaResult fills result.json's schema_evolution. Only after the
// readers stopped.
func (r *run) schemaResult(res *measure.Result) {
	if r.schema == nil {
		return
	}
	se := &measure.SchemaEvolution{Produced: []measure.TypeVersionCount{}}
	if src, ok := r.gen.source.(*scenarioSource); ok && src.versions != nil {
		se.Produced = src.versions.producedCounts()
	}
	se.Current = r.schema.current.result(r.schema.drained)
	if c := r.schema.canary; c != nil {
		cr := c.result(r.schema.drained)
		se.Canary = &cr
	}
	res.SchemaEvolution = se
	if !r.schema.drained {
		res.Notes = append(res.Notes, "the schema-evolution readers did not reach the head before the run stopped: their counts cover part of the events")
	}
}

func (sr *schemaReader) result(drained bool) measure.SchemaReader {
	st := sr.stats
	out := measure.SchemaReader{Version: sr.version, Read: upcast.Total(st.Read), Unreadable: upcast.Total(st.Unreadable),
		Upcast: st.Upcast, UpcastSteps: st.Steps, Duplicates: sr.dups, Drained: drained}
	out.ReadBy = typeVersionCounts(st.Read)
	out.UnreadableBy = typeVersionCounts(st.Unreadable)
	if len(st.Reasons) > 0 {
		out.UnreadableReasons = map[string]int64{}
		for k, n := range st.Reasons {
			out.UnreadableReasons[string(k)] = n
		}
	}
	out.UpcastNS.Mean, out.UpcastNS.P99, out.UpcastNS.Max = st.CostNS()
	out.UpcastNS.Mean = math.Round(out.UpcastNS.Mean)
	return out
}

func typeVersionCounts(m map[upcast.TypeVersion]int64) []measure.TypeVersionCount {
	var out []measure.TypeVersionCount
	for _, tv := range upcast.Sorted(m) {
		out = append(out, measure.TypeVersionCount{Type: tv.Type, Version: tv.Version, Events: m[tv]})
	}
	return out
}
