package scenarios

import "testing"

func TestShardPartsSumToTheWhole(t *testing.T) {
	for _, c := range []struct {
		keys   int
		events int64
		n      int
	}{{10, 1000, 3}, {3, 7, 3}, {1000, 1, 1}, {7, 100, 7}, {5, 12, 4}} {
		var keys int
		var events int64
		for i := 0; i < c.n; i++ {
			k := ShardKeys(c.keys, i, c.n)
			if k < 1 {
				t.Errorf("keys %d / %d shards: shard %d owns no key", c.keys, c.n, i)
			}
			keys += k
			events += ShardEvents(c.events, i, c.n)
		}
		if keys != c.keys || events != c.events {
			t.Errorf("keys %d, events %d over %d shards: parts sum to %d keys, %d events", c.keys, c.events, c.n, keys, events)
		}
	}
}

func TestShardPartDividesRatesAndDropsLeadOnlyParts(t *testing.T) {
	s := &Scenario{Name: "s"}
	s.Load = Load{Start: 300, Stages: []Stage{{To: 900}}, Events: 10}
	s.Events.Keys.Count = 10
	s.Faults = []Fault{{Kind: "latency"}}
	s.Consumers.Pause = []Pause{{}}
	s.Consumers.Rebuild = "end"

	p := s.ShardPart(1, 3, false)
	if p.Load.Start != 100 || p.Load.Stages[0].To != 300 || p.Load.Events != 3 || p.Events.Keys.Count != 3 {
		t.Errorf("shard 1/3: start %v, to %v, events %d, keys %d; want 100, 300, 3, 3", p.Load.Start, p.Load.Stages[0].To, p.Load.Events, p.Events.Keys.Count)
	}
	if p.Faults != nil || p.Consumers.Pause != nil || p.Consumers.Rebuild != "none" {
		t.Errorf("a non-lead shard kept faults %v, pauses %v, rebuild %q", p.Faults, p.Consumers.Pause, p.Consumers.Rebuild)
	}
	if s.Load.Stages[0].To != 900 || s.Events.Keys.Count != 10 || len(s.Faults) != 1 {
		t.Errorf("ShardPart changed the whole scenario: %+v", s.Load)
	}
	if l := s.ShardPart(0, 3, true); len(l.Faults) != 1 || l.Consumers.Rebuild != "end" || l.Load.Events != 4 {
		t.Errorf("the lead shard lost its faults or rebuild, or events %d != 4", l.Load.Events)
	}
	if err := s.CheckShard(11); err == nil {
		t.Error("10 keys over 11 shards was accepted")
	}
}
