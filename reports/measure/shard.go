package measure

import "time"

// ShardInfo says which part of a sharded run (evbench run --shard i/N) a
// result is, so a merge can check that its inputs are the N parts of one
// run and line their timelines up.
type ShardInfo struct {
	// Index and Count are i and N of --shard i/N.
	Index int `json:"index"`
	Count int `json:"count"`
	// RunID is common to every shard of the run (--run-id, or derived from
	// the scenario and --start-at): results with different run IDs are not
	// parts of one run. Event IDs derive from it, the start instant and the
	// shard index, so they differ per shard and per run.
	RunID string `json:"run_id"`
	// StartAt is the common instant every shard's load starts at (its t=0).
	StartAt time.Time `json:"start_at"`
	// Barrier is how the start was agreed through the store; absent with
	// --start-at.
	Barrier *ShardBarrier `json:"barrier,omitempty"`
	// Lead is the shard that injects the faults, consumer pauses and the
	// rebuild; the others record the same windows without acting on them.
	Lead int `json:"lead"`
	// Keys is how many of the scenario's keys this shard owns (key indexes
	// k with k % count == index).
	Keys int `json:"keys"`
	// MarkersIgnored counts barrier markers the projectors read and
	// skipped (the slowest projector's figure): never part of the check.
	MarkersIgnored int64 `json:"markers_ignored"`
}

// ShardBarrier is what the start barrier saw.
type ShardBarrier struct {
	// WaitedS is how long the shard waited from its first marker until it
	// had seen every shard's.
	WaitedS float64 `json:"waited_s"`
	// Markers counts the marker events read (first announcements and the
	// re-announcements that reach late shards).
	Markers int `json:"markers"`
	// LeadS is the lead added to the latest first announcement: the
	// common start is that announcement's clock + lead.
	LeadS float64 `json:"lead_s"`
	// Peers are, per other shard, the send time (its clock) and read time
	// (this shard's clock) of the marker of that shard this shard read
	// fastest before the start: their
	// difference is the store's delivery latency plus the clock offset
	// between the two hosts (an upper bound on the skew).
	Peers []ShardPeer `json:"peers,omitempty"`
}

// ShardPeer is one other shard's marker as this shard saw it.
type ShardPeer struct {
	Shard      int       `json:"shard"`
	SentAt     time.Time `json:"sent_at"`
	ReceivedAt time.Time `json:"received_at"`
}
