package merge

import (
	"fmt"

	"github.com/evbench/evbench/reports/measure"
)

// consumerRestarts merges consumer_restarts: one entry per restart a
// shard's durable projector went through, concatenated in shard order
// with at_s on the merged clock (measure.ConsumerRestart has no shard
// field, so a note maps entries to shards when more than one shard had
// them). The gate metrics stay what they are on one run: resume.max and
// replayed.max the largest entry's, lost the sum, count the entries.
// Consumer-restart faults are injected by the lead shard only, so the
// other shards normally have none; the note saying so names them.
func (m *merger) consumerRestarts(res *measure.Result) {
	lead := m.shards[0].meta.Lead
	with := m.present("consumer_restarts", func(r *measure.Result) bool { return len(r.ConsumerRestarts) > 0 },
		fmt.Sprintf("the lead, shard %d, injects the consumer-restart faults", lead))
	var counts []int
	for _, s := range with {
		for _, c := range s.res.ConsumerRestarts {
			c.AtS = round3(c.AtS + m.shift(s))
			res.ConsumerRestarts = append(res.ConsumerRestarts, c)
		}
		counts = append(counts, len(s.res.ConsumerRestarts))
	}
	if len(with) > 1 {
		m.orderNote("consumer_restarts", with, counts)
	}
}
