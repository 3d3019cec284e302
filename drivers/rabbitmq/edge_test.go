package rabbitmq

import (
	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

func drivertestEdge() []drivers.Event { return drivertest.EncodeEdgeEvents() }
