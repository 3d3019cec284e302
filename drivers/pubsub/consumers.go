package pubsub

import "fmt"

// CheckConsumers refuses, before anything starts, a scenario with more
// projectors than the DSN creates subscriptions: each projector needs its
// own subscription, created before the first publish, to get every event.
func CheckConsumers(dsn string, projectors int) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	if projectors > cfg.Subscriptions {
		return fmt.Errorf("pubsub: consumers.projectors is %d but the DSN creates %d subscription(s); each projector needs its own: add subscriptions=%d to the DSN", projectors, cfg.Subscriptions, projectors)
	}
	return nil
}
