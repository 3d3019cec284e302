package drivertest

import (
	"bytes"
	"testing"

	"github.com/evbench/evbench/drivers"
)

// RunQueue is Run for queue-like stores (Pub/Sub, SQS, MQTT) that cannot
// replay: a subscription delivers what it holds unacknowledged, not what
// lies after a cursor, and positions are delivery counts rather than store
// offsets. Open must create its subscriptions before it returns, so that
// everything appended after open is delivered to the first Subscribe.
//
// It differs from Run in two subtests: AckedEventRoundTrips checks every
// field but not that the delivered position equals the appended one, and
// SubscribeFromMiddle becomes QueueResumesWithoutRedelivery (a stopped
// subscriber that subscribes again gets what it had not consumed and none
// of what it had). Every other subtest is the same.
func RunQueue(t *testing.T, open func(t *testing.T) drivers.Driver) {
	var tests []namedTest
	for _, tc := range conformanceTests() {
		switch tc.name {
		case "AckedEventRoundTrips":
			tc.fn = testQueueRoundTrip
		case "SubscribeFromMiddle":
			tc = namedTest{"QueueResumesWithoutRedelivery", testQueueResume}
		}
		tests = append(tests, tc)
	}
	runTests(t, open, tests)
}

// testQueueRoundTrip: an acknowledged event arrives with every field intact.
func testQueueRoundTrip(t *testing.T, d drivers.Driver) {
	g := randomGen("qrt")
	batch := g.events(20, 4)
	batch[0].Payload = []byte(`{}`)
	batch[1].Type = "Type.With-Punctuation_ü"
	batch[2].CreatedAt = 0
	mustAppend(t, d, batch)
	want := map[[16]byte]drivers.Event{}
	for _, e := range batch {
		want[e.ID] = e
	}
	got := subscribe(t, d, nil).waitIDs(t, idSet(batch))
	checkExactlyOnce(t, idSet(batch), got)
	for _, g := range got {
		w, ok := want[g.ID]
		if !ok {
			continue
		}
		if g.Key != w.Key || g.Seq != w.Seq || g.Type != w.Type || g.CreatedAt != w.CreatedAt || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("round trip of %x:\n got  key=%q seq=%d type=%q created=%d payload=%q\n want key=%q seq=%d type=%q created=%d payload=%q",
				g.ID, g.Key, g.Seq, g.Type, g.CreatedAt, g.Payload, w.Key, w.Seq, w.Type, w.CreatedAt, w.Payload)
		}
	}
}

// testQueueResume: a subscriber that consumed a first lot and stopped, then
// subscribes again, receives exactly the events appended since, in key
// order, and none it had consumed (they were acknowledged).
func testQueueResume(t *testing.T, d drivers.Driver) {
	g := randomGen("qres")
	first := g.events(40, 4)
	mustAppend(t, d, first)
	c := subscribe(t, d, nil)
	checkExactlyOnce(t, idSet(first), c.waitIDs(t, idSet(first)))
	c.stop(t)
	second := g.events(40, 4)
	mustAppend(t, d, second)
	got := subscribe(t, d, nil).waitIDs(t, idSet(second))
	consumed := idSet(first)
	for _, dl := range got {
		if consumed[dl.ID] {
			t.Fatalf("resubscribe redelivered %x (key %s seq %d), consumed and acknowledged before", dl.ID, dl.Key, dl.Seq)
		}
	}
	checkExactlyOnce(t, idSet(second), got)
	checkKeyOrder(t, got)
}
