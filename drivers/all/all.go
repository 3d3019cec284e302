// Package all links every driver into a binary: import it for its side
// effects, as the CLI does.
package all

import (
	_ "github.com/evbench/evbench/drivers/faulty"
	_ "github.com/evbench/evbench/drivers/http"
	_ "github.com/evbench/evbench/drivers/kafka"
	_ "github.com/evbench/evbench/drivers/memory"
	_ "github.com/evbench/evbench/drivers/mqtt"
	_ "github.com/evbench/evbench/drivers/nats"
	_ "github.com/evbench/evbench/drivers/postgres"
	_ "github.com/evbench/evbench/drivers/pubsub"
	_ "github.com/evbench/evbench/drivers/rabbitmq"
	_ "github.com/evbench/evbench/drivers/redis"
	_ "github.com/evbench/evbench/drivers/refstore"
	_ "github.com/evbench/evbench/drivers/sqs"
)
