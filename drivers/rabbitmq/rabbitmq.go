// Package rabbitmq is the evbench driver for RabbitMQ: quorum or classic
// queues over AMQP 0-9-1 (rabbitmq/amqp091-go), or streams over the stream
// protocol (rabbitmq-stream-go-client). A publisher confirm is the commit.
// Queues cannot replay (rebuild is declared unsupported); streams replay
// from an offset.
package rabbitmq

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/evbench/evbench/drivers"
)

func init() {
	drivers.Register(drivers.Registration{
		Name:        "rabbitmq",
		Description: "RabbitMQ quorum/classic queues (publisher confirms, no replay) or streams (type=stream, offset replay, port 5552)",
		DSNExample:  dsnExample,
		Open: func(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
			return Open(ctx, dsn, opts)
		},
		CheckDSN:         func(dsn string) error { _, err := ParseDSN(dsn); return err },
		CheckConsumers:   CheckConsumers,
		CheckDeadLetters: CheckDeadLetters,
	})
}

// Open parses dsn and connects: type=quorum and classic over AMQP
// 0-9-1 through opts.Dialer() (TLS on top of it for amqps://),
// type=stream over the stream protocol (which takes no custom dialer, so
// it refuses opts.Dial; with TLS it runs the stream client's own).
func Open(ctx context.Context, dsn string, opts drivers.Options) (drivers.Driver, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if w := cfg.TLS.Warning(); w != "" {
		opts.Log("%s", w)
	}
	if cfg.Type == TypeStream {
		return openStream(ctx, cfg, opts)
	}
	return openQueue(ctx, cfg, opts)
}

// checkStreamPort fails fast, naming the command that enables the stream
// plugin, when nothing listens on the stream port.
func checkStreamPort(ctx context.Context, cfg Config) error {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", cfg.streamAddr())
	if err != nil {
		return fmt.Errorf("rabbitmq: type=stream: nothing answers on the stream port %s (%v); enable the stream plugin with `rabbitmq-plugins enable rabbitmq_stream` or set stream_port=", cfg.streamAddr(), err)
	}
	c.Close()
	return nil
}

// CheckConsumers refuses, before anything starts, more projectors than a
// queue-type DSN has subscriber queues: RabbitMQ hands each message of a
// queue to one consumer, so each projector needs its own queue (bound to
// the fanout exchange) to see every event. A stream serves any number.
func CheckConsumers(dsn string, projectors int) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	if cfg.Type != TypeStream && projectors > cfg.Subscribers {
		return fmt.Errorf("rabbitmq type=%s: %d projectors need %d queues (one per projector, each gets every event); add subscribers=%d to the DSN", cfg.Type, projectors, projectors, projectors)
	}
	return nil
}
