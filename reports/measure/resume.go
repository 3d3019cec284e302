package measure

import "math"

// ConsumerRestart is what one consumer-restart fault cost a durable
// projector: how long it took to deliver again and what it replayed.
// Replays are at-least-once delivery by design (the events it had
// delivered since its group's last commit come again); the delivery check
// counts them as duplicates, which fail only an exactly-once expect (a
// scenario with consumer-restart must declare at-least-once).
type ConsumerRestart struct {
	// AtS is when the subscription was killed (no final commit), on the
	// run's clock; DownS how long it stayed down (the fault's for).
	AtS   float64 `json:"at_s"`
	DownS float64 `json:"down_s"`
	// Projector is the projector's index; Group its consumer group.
	Projector int    `json:"projector"`
	Group     string `json:"group"`
	// ResumeS is from the restart (AtS + DownS) to the first event
	// delivered after it: joining the group, fetching its committed
	// position, the first fetch. Resumed is false when nothing was
	// delivered again before the run ended (ResumeS then runs to the end).
	ResumeS float64 `json:"resume_s"`
	Resumed bool    `json:"resumed"`
	// Replayed is how many events of this run delivered after the restart
	// had been delivered before it (positions below where the killed
	// subscription had got to): what was not committed yet.
	Replayed int64 `json:"replayed"`
	// Lost is how many positions the resumed subscription skipped on a
	// partition (its first position there beyond where the killed one had
	// got to): commits ahead of what was delivered. The delivery check
	// judges loss for the whole run.
	Lost int64 `json:"lost"`
	// CommitEvery and CommitIntervalS are the group's commit policy: the
	// replay is bounded by CommitEvery events (or CommitIntervalS of
	// events) plus one delivered batch.
	CommitEvery     int     `json:"commit_every"`
	CommitIntervalS float64 `json:"commit_interval_s"`
}

// resumeMetrics adds the consumer_restart.* gate metrics; absent without
// a consumer-restart, so a gate on them fails instead of passing on zero.
func resumeMetrics(r *Result, m map[string]float64) {
	if len(r.ConsumerRestarts) == 0 {
		return
	}
	var resume, replayed, lost float64
	for _, c := range r.ConsumerRestarts {
		resume = math.Max(resume, c.ResumeS)
		replayed = math.Max(replayed, float64(c.Replayed))
		lost += float64(c.Lost)
	}
	m["consumer_restart.resume.max"] = resume
	m["consumer_restart.replayed.max"] = replayed
	m["consumer_restart.lost"] = lost
	m["consumer_restart.count"] = float64(len(r.ConsumerRestarts))
}
