package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/evbench/evbench/drivers"
)

// The queue types' dead-letter queue: every subscriber queue is declared
// with x-dead-letter-exchange "<queue>.dlx", a fanout exchange bound to the
// queue "<queue>.dlq" (dead_letter=true, the default). consumers.dlq: store
// publishes a consumer's dead letters to that exchange, as an application
// that republishes a failed message with its error does (the broker's own
// rejection would keep the message but not why it failed), and the redrive
// reads them back with basic.get. Headers carry what the body does not:
const (
	hdrScope    = "x-evbench-scope"    // the run's ID: runs sharing a queue never take each other's letters
	hdrConsumer = "x-evbench-consumer" // the projector that gave up
	hdrAttempts = "x-evbench-attempts"
	hdrError    = "x-evbench-error"   // the last attempt's error, cut to maxErrLen
	hdrDeadAt   = "x-evbench-dead-at" // unix ns (the AMQP timestamp has whole seconds)
)

const maxErrLen = 1024

var _ drivers.DeadLetterer = (*queueDriver)(nil)

// CheckDeadLetters refuses, before anything starts, a DSN whose store has
// no dead-letter queue for consumers.dlq: store.
func CheckDeadLetters(dsn string) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	return cfg.deadLettersUnsupported()
}

func (c Config) deadLettersUnsupported() error {
	switch {
	case c.Type == TypeStream:
		return fmt.Errorf("rabbitmq type=stream: a stream keeps every message and dead-letters none, so there is no DLQ for consumers.dlq: store; use type=quorum or type=classic, or consumers.dlq: memory or postgres: %w", drivers.ErrUnsupported)
	case !c.DeadLetter:
		return fmt.Errorf("rabbitmq: dead_letter=false declares no %q queue for consumers.dlq: store; remove dead_letter=false from the DSN, or use consumers.dlq: memory or postgres: %w", c.Queue+".dlq", drivers.ErrUnsupported)
	}
	return nil
}

// DeadLetters implements drivers.DeadLetterer on the queue's DLQ.
func (d *queueDriver) DeadLetters(_ context.Context, scope string) (drivers.DeadLetterQueue, error) {
	if err := d.cfg.deadLettersUnsupported(); err != nil {
		return nil, err
	}
	if scope == "" {
		return nil, errors.New("rabbitmq: dead letters need a scope (the run's ID)")
	}
	return &deadLetters{d: d, scope: scope}, nil
}

// DeadLetters: a stream has no dead-lettering.
func (s *streamDriver) DeadLetters(context.Context, string) (drivers.DeadLetterQueue, error) {
	return nil, s.cfg.deadLettersUnsupported()
}

// deadLetters is one scope's view of "<queue>.dlq".
type deadLetters struct {
	d     *queueDriver
	scope string

	mu     sync.Mutex // one Put at a time on pub
	pub    *amqp.Channel
	closed bool
}

// channel opens a channel on the driver's connection, redialling a dead
// one (a fault cut it): the letters travel the consumer's path.
func (q *deadLetters) channel(ctx context.Context) (*amqp.Channel, error) {
	d := q.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureConnLocked(ctx); err != nil {
		return nil, err
	}
	ch, err := d.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dlq: open channel: %w", err)
	}
	return ch, nil
}

// Put publishes the letter to the dead-letter exchange and waits for the
// broker's confirm (confirm_timeout). A channel or connection that died is
// reopened once.
func (q *deadLetters) Put(ctx context.Context, l drivers.DeadLetter) error {
	body, err := encode(&l.Event, 0)
	if err != nil {
		return fmt.Errorf("rabbitmq: dlq: %w", err)
	}
	msg := amqp.Publishing{DeliveryMode: amqp.Persistent, Type: l.Event.Type, Timestamp: l.At, Body: body,
		Headers: amqp.Table{hdrScope: q.scope, hdrConsumer: l.Consumer, hdrAttempts: int32(l.Attempts), hdrError: cut(l.Err, maxErrLen),
			hdrDeadAt: l.At.UnixNano()}}
	ctx, cancel := context.WithTimeout(ctx, q.d.cfg.ConfirmTimeout)
	defer cancel()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.New("rabbitmq: dlq: closed")
	}
	for try := 0; ; try++ {
		err = q.publish(ctx, msg)
		if err == nil || try == 1 || ctx.Err() != nil {
			break
		}
		if q.pub != nil {
			q.pub.Close()
			q.pub = nil
		}
	}
	if err != nil {
		return fmt.Errorf("rabbitmq: dlq: put %x on exchange %q: %w", l.Event.ID, q.d.dlx(), err)
	}
	return nil
}

func (q *deadLetters) publish(ctx context.Context, msg amqp.Publishing) error {
	if q.pub == nil || q.pub.IsClosed() {
		ch, err := q.channel(ctx)
		if err != nil {
			return err
		}
		if err := ch.Confirm(false); err != nil {
			ch.Close()
			return fmt.Errorf("enable publisher confirms: %w", err)
		}
		q.pub = ch
	}
	dc, err := q.pub.PublishWithDeferredConfirmWithContext(ctx, q.d.dlx(), "", false, false, msg)
	if err != nil {
		return err
	}
	acked, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("waiting for the confirm: %w", err)
	case !acked:
		return errors.New("broker nacked it (or the channel closed before its confirm)")
	}
	return nil
}

// Take removes the scope's letters: it gets every message of the DLQ,
// acknowledges the scope's (a duplicate too: it is returned once) and
// leaves the rest, which return to the queue when the channel closes.
func (q *deadLetters) Take(ctx context.Context) ([]drivers.DeadLetter, error) {
	return q.read(ctx, true)
}

// List gets every message and acknowledges none: closing the channel puts
// them all back.
func (q *deadLetters) List(ctx context.Context) ([]drivers.DeadLetter, error) {
	return q.read(ctx, false)
}

// Len counts the scope's letters (List: the queue's own count includes
// other scopes').
func (q *deadLetters) Len(ctx context.Context) (int, error) {
	ls, err := q.List(ctx)
	return len(ls), err
}

func (q *deadLetters) read(ctx context.Context, take bool) ([]drivers.DeadLetter, error) {
	ch, err := q.channel(ctx)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dlq: %w", err)
	}
	defer ch.Close() // what was got and not acknowledged goes back
	queue := q.d.dlq()
	var letters []drivers.DeadLetter
	var got []gotLetter
	first := map[[2]string]int{} // (consumer, event ID) -> index in letters
	for ctx.Err() == nil {
		m, ok, err := ch.Get(queue, false)
		if err != nil {
			return nil, fmt.Errorf("rabbitmq: dlq: get from %q: %w", queue, err)
		}
		if !ok {
			break
		}
		l, scope, ok := decodeLetter(&m)
		if !ok || scope != q.scope {
			continue
		}
		k := [2]string{l.Consumer, string(l.Event.ID[:])}
		i, dup := first[k]
		if !dup {
			i = len(letters)
			first[k] = i
			letters = append(letters, l)
		}
		got = append(got, gotLetter{tag: m.DeliveryTag, letter: i})
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rabbitmq: dlq: read %q: %w", queue, err)
	}
	if !take {
		return sortedLetters(letters), nil
	}
	// One by one: a multiple ack would take other scopes' messages too. If
	// one fails the channel is gone and every message not yet acknowledged
	// is back in the queue, so only the letters already taken are returned.
	taken := make([]bool, len(letters))
	for _, g := range got {
		if err := ch.Ack(g.tag, false); err != nil {
			var out []drivers.DeadLetter
			for i, ok := range taken {
				if ok {
					out = append(out, letters[i])
				}
			}
			return sortedLetters(out), fmt.Errorf("rabbitmq: dlq: acknowledge a letter of %q: %w", queue, err)
		}
		taken[g.letter] = true
	}
	// A quorum queue may drop acknowledgements sent just before the channel
	// closes, returning those letters to the queue
	// (rabbitmq/rabbitmq-server#10327). One more basic.get is answered only
	// after the queue applied what this channel sent before it, so the
	// acknowledgements hold once it returns. (It finds nothing of the
	// scope's: a letter put since is left for the next Take.)
	if _, _, err := ch.Get(queue, false); err != nil {
		return sortedLetters(letters), fmt.Errorf("rabbitmq: dlq: after acknowledging the letters of %q: %w", queue, err)
	}
	return sortedLetters(letters), nil
}

// gotLetter is one message of the scope: its delivery tag and its letter
// (a duplicate shares the first one's).
type gotLetter struct {
	tag    uint64
	letter int
}

func sortedLetters(ls []drivers.DeadLetter) []drivers.DeadLetter {
	slices.SortStableFunc(ls, func(a, b drivers.DeadLetter) int { return a.At.Compare(b.At) })
	return ls
}

// decodeLetter reads a letter Put wrote; ok is false for any other message
// (one the broker dead-lettered itself, another tool's).
func decodeLetter(m *amqp.Delivery) (l drivers.DeadLetter, scope string, ok bool) {
	scope, _ = m.Headers[hdrScope].(string)
	if scope == "" {
		return l, "", false
	}
	ev, _, err := decode(m.Body)
	if err != nil {
		return l, "", false
	}
	ev.Type = m.Type
	l.Event = ev
	l.Consumer, _ = m.Headers[hdrConsumer].(string)
	l.Err, _ = m.Headers[hdrError].(string)
	switch n := m.Headers[hdrAttempts].(type) {
	case int32:
		l.Attempts = int(n)
	case int64:
		l.Attempts = int(n)
	case int16:
		l.Attempts = int(n)
	}
	if ns, ok := m.Headers[hdrDeadAt].(int64); ok {
		l.At = time.Unix(0, ns)
	} else {
		l.At = m.Timestamp
	}
	return l, scope, true
}

// Describe names the queue and exchange.
func (q *deadLetters) Describe() string {
	return fmt.Sprintf("RabbitMQ %s queue %q via dead-letter exchange %q", q.d.cfg.Type, q.d.dlq(), q.d.dlx())
}

// Close closes the publishing channel. Idempotent.
func (q *deadLetters) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.pub != nil {
		q.pub.Close()
		q.pub = nil
	}
	return nil
}

// cut shortens s to at most n bytes.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
