package runner

import (
	"math/rand/v2"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/fixtures"
	"github.com/evbench/evbench/scenarios"
)

// eventSource makes the content of the next append: count events of one
// key, numbered from first. It returns the key's index and the events
// appended to batch.
type eventSource interface {
	next(first int64, count int, batch []drivers.Event) (key int32, events []drivers.Event)
}

// scenarioSource makes events as the scenario describes: keys from the
// distribution, one key per append (a command's events belong to one
// aggregate), per-key sequence numbers kept in the ledger, payloads from a
// pool made before the run (shared, read-only slices: no allocation or
// rendering per event). It is only called from the generator goroutine.
type scenarioSource struct {
	rng   *rand.Rand
	keys  scenarios.KeyPicker
	names []string // key index -> key, built lazily
	// keyName names a key index (the ledger's: on a shard, local indexes
	// map to the scenario's keys).
	keyName func(int) string
	pool    *fixtures.Pool
	ledger  *ledger
	// versions picks each type's schema version (events.versions) and
	// counts what was produced; nil when the run measures no schema
	// evolution, leaving the plain path below untouched.
	versions *versionTimeline
}

func newScenarioSource(sc *scenarios.Scenario, seed uint64, l *ledger) (*scenarioSource, error) {
	kp, err := scenarios.NewKeyPicker(sc.Events.Keys)
	if err != nil {
		return nil, err
	}
	pool, err := fixtures.NewPool(sc.Events, int64(seed))
	if err != nil {
		return nil, err
	}
	versions, err := newVersionTimeline(sc, pool)
	if err != nil {
		return nil, err
	}
	return &scenarioSource{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		keys:     kp,
		names:    make([]string, sc.Events.Keys.Count),
		pool:     pool,
		ledger:   l,
		keyName:  l.keyName,
		versions: versions,
	}, nil
}

func (s *scenarioSource) next(first int64, count int, batch []drivers.Event) (int32, []drivers.Event) {
	k := s.keys.Pick(s.rng)
	name := s.names[k]
	if name == "" {
		name = s.keyName(k)
		s.names[k] = name
	}
	seq := s.ledger.sent[k]
	for i := 0; i < count; i++ {
		seq++
		var typ string
		var payload []byte
		if s.versions == nil {
			typ = s.pool.PickType()
			payload = s.pool.Next(typ)
		} else {
			typ, payload = s.versions.next(s.pool, first+int64(i)) // event number first+i of the schedule
		}
		batch = append(batch, drivers.Event{
			ID:      s.ledger.eventID(int32(k), seq),
			Key:     name,
			Seq:     seq,
			Type:    typ,
			Payload: payload,
		})
	}
	s.ledger.sent[k] = seq
	return int32(k), batch
}

// warmKeys bounds the key names made before the run starts (~32 B each).
const warmKeys = 1 << 20

// warm makes the key names up front (up to warmKeys), so the first second
// of load does not pay for them.
func (s *scenarioSource) warm() {
	for k := 0; k < len(s.names) && k < warmKeys; k++ {
		if s.names[k] == "" {
			s.names[k] = s.keyName(k)
		}
	}
}
