package readmodel

import (
	"time"

	"github.com/evbench/evbench/drivers"
)

// Snapshot is the state of every aggregate at one store position: what a
// snapshot store would hold. A rebuild from it restores the states and
// reads only the events from Cursor on.
type Snapshot struct {
	// Cursor is the next position to read per partition: every event
	// before it is folded into States, none after it.
	Cursor drivers.Cursor
	// Events is how many events the states hold.
	Events int64
	States map[string]State
}

// Snapshot copies the model's state at cursor (the position after the
// last event folded); the model may go on folding afterwards.
func (m *Model) Snapshot(cursor drivers.Cursor) *Snapshot {
	s := &Snapshot{Cursor: cursor.Clone(), Events: m.events, States: make(map[string]State, len(m.keys))}
	for k, st := range m.keys {
		s.States[k] = *st
	}
	return s
}

// Keys is how many aggregates the snapshot holds.
func (s *Snapshot) Keys() int { return len(s.States) }

// Restore returns one model per partition (of parts) holding the
// snapshot's states of that partition's keys, each spending cost per
// event applied afterwards. Events are counted in the partition that
// holds them, so the models' Events sum to the snapshot's.
func (s *Snapshot) Restore(parts int, cost time.Duration) []*Model {
	models := make([]*Model, parts)
	for i := range models {
		models[i] = New(cost)
	}
	for k, st := range s.States {
		m := models[Partition(k, parts)]
		c := st
		m.keys[k] = &c
		m.events += st.Count
	}
	return models
}
