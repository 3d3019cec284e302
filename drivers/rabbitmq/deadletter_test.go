package rabbitmq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/drivertest"
)

// letter makes a dead letter of ev, given up by consumer at at.
func letter(consumer string, ev drivers.Event, at time.Time) drivers.DeadLetter {
	return drivers.DeadLetter{Consumer: consumer, Event: ev, Attempts: 3, Err: "handler: payment service down", At: at}
}

func openDLQ(t *testing.T, d drivers.Driver, scope string) drivers.DeadLetterQueue {
	t.Helper()
	q, err := d.(drivers.DeadLetterer).DeadLetters(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// dlqDepth is what the broker says "<queue>.dlq" holds, waiting for
// requeued messages to be counted again.
func dlqDepth(t *testing.T, d *queueDriver, want int) int {
	t.Helper()
	ch, err := d.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	var n int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		q, err := ch.QueueDeclarePassive(d.dlq(), true, false, false, false, amqp.Table{"x-queue-type": d.cfg.Type})
		if err != nil {
			t.Fatal(err)
		}
		if n = q.Messages; n == want {
			break
		}
	}
	return n
}

// TestDeadLettersOnTheBroker: letters put on the queue's dead-letter
// exchange land in "<queue>.dlq" on the broker, come back whole (event,
// attempts, error, time to the nanosecond), oldest first, once per
// (consumer, event); List leaves them, Take removes only this run's, and
// what is not evbench's (another run's letter, a message the broker
// dead-lettered itself, a stranger's) stays in the queue.
func TestDeadLettersOnTheBroker(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	for _, typ := range []string{TypeQuorum, TypeClassic} {
		t.Run(typ, func(t *testing.T) {
			d := openFresh(t, "&type="+typ)
			qd := d.(*queueDriver)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			mine, other := openDLQ(t, d, "run-a"), openDLQ(t, d, "run-b")
			evs := drivertest.Events(3, 2)
			t0 := time.Unix(0, time.Now().UnixNano()+123) // sub-second: the AMQP timestamp alone would lose it
			puts := []struct {
				q drivers.DeadLetterQueue
				l drivers.DeadLetter
			}{
				{mine, letter("run-a/projector-0", evs[1], t0.Add(2*time.Millisecond))},
				{mine, letter("run-a/projector-0", evs[0], t0)},
				{mine, letter("run-a/projector-0", evs[0], t0.Add(5*time.Millisecond))}, // the same event given up twice
				{other, letter("run-b/projector-0", evs[2], t0)},
			}
			for _, p := range puts {
				if err := p.q.Put(ctx, p.l); err != nil {
					t.Fatal(err)
				}
			}
			// A stranger's message on the exchange, and one the broker
			// dead-letters itself: a subscriber queue's message rejected
			// without requeue goes to the dead-letter exchange with x-death.
			ch, err := qd.conn.Channel()
			if err != nil {
				t.Fatal(err)
			}
			defer ch.Close()
			if err := ch.PublishWithContext(ctx, qd.dlx(), "", false, false, amqp.Publishing{Body: []byte("not evbench")}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Append(ctx, evs[:1]); err != nil {
				t.Fatal(err)
			}
			// (Consume: quorum queues with single active consumer refuse basic.get.)
			msgs, err := ch.Consume(qd.cfg.queueName(0), "", false, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-msgs:
				if err := m.Nack(false, false); err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("the appended event never reached the subscriber queue")
			}
			if n := dlqDepth(t, qd, 6); n != 6 {
				t.Fatalf("%s holds %d messages, want 6 (4 letters, a stranger's, a broker dead letter)", qd.dlq(), n)
			}

			listed, err := mine.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []drivers.DeadLetter{puts[1].l, puts[0].l}
			checkLetters(t, "List", listed, want)
			if n, err := mine.Len(ctx); err != nil || n != 2 {
				t.Errorf("Len = %d, %v; want 2", n, err)
			}
			taken, err := mine.Take(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkLetters(t, "Take", taken, want)
			if again, err := mine.Take(ctx); err != nil || len(again) != 0 {
				t.Errorf("second Take = %d letters, %v; want none", len(again), err)
			}
			if n := dlqDepth(t, qd, 3); n != 3 {
				t.Errorf("after Take %s holds %d messages, want 3 (run-b's letter, the stranger's, the broker's)", qd.dlq(), n)
			}
			theirs, err := other.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkLetters(t, "run-b List", theirs, []drivers.DeadLetter{puts[3].l})
		})
	}
}

func checkLetters(t *testing.T, what string, got, want []drivers.DeadLetter) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d letters, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Consumer != w.Consumer || g.Attempts != w.Attempts || g.Err != w.Err || !g.At.Equal(w.At) ||
			g.Event.ID != w.Event.ID || g.Event.Key != w.Event.Key || g.Event.Seq != w.Event.Seq || g.Event.Type != w.Event.Type ||
			string(g.Event.Payload) != string(w.Event.Payload) || g.Event.CreatedAt != w.Event.CreatedAt {
			t.Errorf("%s letter %d = %+v\nwant %+v", what, i, g, w)
		}
	}
}

// TestDeadLetterPutRedials: a connection the broker dropped is redialled,
// so a dead letter is not lost to it.
func TestDeadLetterPutRedials(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	d := openFresh(t, "")
	qd := d.(*queueDriver)
	q := openDLQ(t, d, "run-a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs := drivertest.Events(2, 1)
	if err := q.Put(ctx, letter("c", evs[0], time.Now())); err != nil {
		t.Fatal(err)
	}
	qd.mu.Lock()
	qd.conn.Close()
	qd.mu.Unlock()
	if err := q.Put(ctx, letter("c", evs[1], time.Now())); err != nil {
		t.Fatalf("Put after the connection closed: %v", err)
	}
	if n, err := q.Len(ctx); err != nil || n != 2 {
		t.Errorf("Len = %d, %v; want 2", n, err)
	}
}

// TestDeadLettersUnsupported: a stream, or a DSN with dead_letter=false,
// has no DLQ; the refusal says what to change, before load (CheckDeadLetters)
// and on the connection.
func TestDeadLettersUnsupported(t *testing.T) {
	for _, c := range []struct{ params, want string }{
		{"&type=stream", "use type=quorum or type=classic"},
		{"&dead_letter=false", "remove dead_letter=false"},
	} {
		err := CheckDeadLetters(machineDSN + "?queue=q" + c.params)
		if !errors.Is(err, drivers.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckDeadLetters(%s) = %v; want ErrUnsupported naming %q", c.params, err, c.want)
		}
	}
	if err := CheckDeadLetters(machineDSN + "?queue=q"); err != nil {
		t.Errorf("CheckDeadLetters(quorum) = %v", err)
	}
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	d := openFresh(t, "&dead_letter=false")
	if _, err := d.(drivers.DeadLetterer).DeadLetters(context.Background(), "run"); !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("DeadLetters with dead_letter=false = %v; want ErrUnsupported", err)
	}
}

// TestDeadLetterTakeHoldsOnQuorum: a Take's acknowledgements hold on a
// quorum queue, which drops some sent just before the channel closes
// (rabbitmq/rabbitmq-server#10327; without the barrier in read, about two
// thirds of 100 letters came back).
func TestDeadLetterTakeHoldsOnQuorum(t *testing.T) {
	drivertest.RequireService(t, "rabbitmq", machineAMQP)
	d := openFresh(t, "&type=quorum")
	q := openDLQ(t, d, "run-a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs := drivertest.Events(300, 10)
	for _, e := range evs {
		if err := q.Put(ctx, letter("c", e, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if ls, err := q.Take(ctx); err != nil || len(ls) != len(evs) {
		t.Fatalf("Take = %d letters, %v; want %d", len(ls), err, len(evs))
	}
	if ls, err := q.List(ctx); err != nil || len(ls) != 0 {
		t.Errorf("after Take, List = %d letters, %v; want none back in the queue", len(ls), err)
	}
}
