package runner

import (
	"bytes"
	"math/rand/v2"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/fixtures"
	"github.com/evbench/evbench/scenarios"
)

// scenarioSource makes events as the scenario describes: keys from the
// distribution, one key per append (a command's events belong to one
// aggregate), per-key sequence numbers, realistic envelopes. It is only
// called from the generator goroutine.
type scenarioSource struct {
	rng      *rand.Rand
	keys     scenarios.KeyPicker
	names    []string // key index -> key, built lazily
	seqs     []uint64 // key index -> last sequence handed out
	payloads *fixtures.Generator
	ledger   *ledger
	scratch  []byte
}

// payload renders into a reused buffer and returns an exact-size copy: one
// allocation per event, and no slack retained by stores that keep payloads.
func (s *scenarioSource) payload(id [16]byte, typ, key string, seq uint64, scheduled int64) []byte {
	s.scratch = s.payloads.Payload(s.scratch[:0], id, typ, key, seq, scheduled)
	return bytes.Clone(s.scratch)
}

func newScenarioSource(sc *scenarios.Scenario, seed uint64, l *ledger) (*scenarioSource, error) {
	kp, err := scenarios.NewKeyPicker(sc.Events.Keys)
	if err != nil {
		return nil, err
	}
	gen, err := fixtures.NewGenerator(sc.Events, int64(seed))
	if err != nil {
		return nil, err
	}
	n := sc.Events.Keys.Count
	return &scenarioSource{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		keys:     kp,
		names:    make([]string, n),
		seqs:     make([]uint64, n),
		payloads: gen,
		ledger:   l,
	}, nil
}

func (s *scenarioSource) next(first int64, count int, scheduled time.Time, batch []drivers.Event) []drivers.Event {
	k := s.keys.Pick(s.rng)
	name := s.names[k]
	if name == "" {
		name = scenarios.KeyName(k)
		s.names[k] = name
	}
	for i := 0; i < count; i++ {
		n := first + int64(i)
		s.seqs[k]++
		typ := s.payloads.PickType()
		id := s.ledger.eventID(n)
		batch = append(batch, drivers.Event{
			ID:      id,
			Key:     name,
			Seq:     s.seqs[k],
			Type:    typ,
			Payload: s.payload(id, typ, name, s.seqs[k], scheduled.UnixNano()),
		})
	}
	return batch
}
