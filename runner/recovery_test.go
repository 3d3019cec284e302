package runner

import (
	"testing"
	"time"

	"github.com/evbench/evbench/reports/measure"
)

// RTO comes from the append outage and the catch-up of the fault; RPO from
// what the durable scan lacks, dated by the ack ring and given to the
// first crash after it was due.
func TestRecoveriesFromOutagesCatchUpAndScan(t *testing.T) {
	start := time.Now()
	l := newLedger([8]byte{1}, 2)
	r := &run{ledger: l, start: start, gen: &generator{acks: newAckRing(100)}}
	// key 0: 1..10 sent, the store kept 1..7 (8..10 acked and lost);
	// key 1: 1..4 sent and kept.
	l.sent[0], l.sent[1] = 10, 4
	for s := uint64(1); s <= 10; s++ {
		r.gen.acks.add(0, s, start.Add(time.Duration(s)*time.Second).UnixNano()) // due at s seconds
	}
	scan := &projector{model: map[int32]*keyState{0: {}, 1: {}}}
	for s := uint64(1); s <= 7; s++ {
		scan.model[0].see(s)
	}
	for s := uint64(1); s <= 4; s++ {
		scan.model[1].see(s)
	}
	r.scan = scan
	r.projs = []*projector{{}}
	res := &measure.Result{
		Faults: []measure.FaultWindow{
			{Kind: "latency", Path: "producer", AtS: 1, ForS: 1},
			{Kind: "power-loss", Path: "store", AtS: 10.5, ForS: 2},
		},
		Outages: []measure.Outage{{Op: "append", StartedS: 10.51, EndedS: 12.8, Seconds: 2.29, Recovered: true}},
		CatchUp: []measure.CatchUp{{Cause: "fault power-loss on store at 10.5s", StartedS: 12.5, Seconds: 0.75, Recovered: true}},
	}
	got := r.recoveries(res)
	if len(got) != 1 {
		t.Fatalf("recoveries %+v, want one (the latency fault is not a store fault)", got)
	}
	c := got[0]
	if c.RTOAppendS != 2.3 || !c.AppendRecovered || c.RTOProjectionS != 2.75 || !c.ProjectionRecovered {
		t.Fatalf("RTO %+v", c)
	}
	if c.RPOEvents != 3 || c.RPOSeconds != 2 || c.Note != "" {
		t.Fatalf("RPO %+v, want 3 events due 8 s .. 10 s", c)
	}
}

// A projector beyond the store's head (the store lost its tail) goes back
// to the head; one behind it is left alone.
func TestRewindToHead(t *testing.T) {
	p := &projector{cursor: map[int32]int64{0: 100, 1: 5}}
	if !p.rewind(map[int32]int64{0: 80, 1: 9}) || p.cursor[0] != 80 || p.cursor[1] != 5 || p.rewinds.Load() != 1 {
		t.Fatalf("cursor %v rewinds %d", p.cursor, p.rewinds.Load())
	}
	if p.rewind(map[int32]int64{0: 90, 1: 9}) {
		t.Fatal("rewound although the head is ahead")
	}
	if !behind(map[int32]int64{0: 3}, map[int32]int64{0: 4}) || behind(map[int32]int64{0: 4}, map[int32]int64{0: 4}) {
		t.Fatal("behind")
	}
}
