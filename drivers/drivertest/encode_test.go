package drivertest

import "testing"

func TestBenchEncodeEvents(t *testing.T) {
	evs := EncodeEvents(3)
	if len(evs[0].Payload) != EncodePayloadSize || &evs[0].Payload[0] != &evs[2].Payload[0] {
		t.Fatalf("payload: %d bytes, shared %v; want %d bytes shared", len(evs[0].Payload), &evs[0].Payload[0] == &evs[2].Payload[0], EncodePayloadSize)
	}
	if evs[0].ID == evs[1].ID || evs[1].Seq != evs[0].Seq+1 {
		t.Fatalf("want distinct IDs and consecutive Seqs: %+v", evs[:2])
	}
}
