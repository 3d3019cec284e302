package rabbitmq

import (
	"context"

	"github.com/evbench/evbench/drivers"
)

// durabilityOf is what a publisher confirm means for each queue type, as
// RabbitMQ documents it (www.rabbitmq.com/docs/confirms, /quorum-queues,
// /streams). It follows from the DSN's type=, not from a server setting:
// the broker has no knob that changes it.
func durabilityOf(typ string) drivers.Durability {
	switch typ {
	case TypeQuorum:
		return drivers.Durability{
			AckAfterFsync: drivers.AckAfterFsyncTrue,
			Replication:   "a majority of the quorum queue's members",
			Detail:        "quorum queue: the confirm follows the Raft log entry written and fsync'd on a majority of the queue's members (one member on a single node)",
			Source:        "DSN type=quorum (RabbitMQ quorum-queue semantics)",
		}
	case TypeClassic:
		return drivers.Durability{
			AckAfterFsync: drivers.AckAfterFsyncTrue,
			Replication:   "none (single copy)",
			Detail:        "durable classic queue, persistent messages: the confirm follows the message store's batched fsync (every few hundred ms at most), no replica",
			Source:        "DSN type=classic (RabbitMQ publisher-confirm semantics)",
		}
	default:
		return drivers.Durability{
			AckAfterFsync: drivers.AckAfterFsyncFalse,
			Replication:   "a majority of the stream's replicas",
			Detail:        "stream: the confirm follows replication to a majority of the stream's members, written to the OS page cache without fsync (streams leave flushing to the OS)",
			Source:        "DSN type=stream (RabbitMQ streams semantics)",
		}
	}
}

// Durability reports the queue type's confirm semantics.
func (d *queueDriver) Durability(context.Context) (drivers.Durability, error) {
	return durabilityOf(d.cfg.Type), nil
}
