package drivers

import "fmt"

// ReplayReporter is implemented by drivers whose connection may be unable
// to replay: a queue (RabbitMQ classic or quorum, MQTT) deletes what it
// delivered, so Subscribe cannot start before what the queue still holds
// and a rebuild has nothing to read. ReplayUnsupported returns nil when
// this connection can replay from any cursor, else the reason, wrapping
// ErrUnsupported. Drivers without the method replay (logs: refstore,
// postgres, kafka, nats, RabbitMQ streams).
type ReplayReporter interface {
	ReplayUnsupported() error
}

// CheckReplay returns why d cannot replay, or nil when it can (or does
// not say: every log-backed driver can).
func CheckReplay(d Driver) error {
	if r, ok := d.(ReplayReporter); ok {
		if err := r.ReplayUnsupported(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}
