package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/evbench/evbench/drivers"
)

var _ drivers.ExpectedAppender = (*Driver)(nil)

// expectedStream caches the jetstream.Stream handle (js.Stream costs an
// info request).
type expectedStream struct {
	mu sync.Mutex
	s  jetstream.Stream
}

func (d *Driver) streamHandle(ctx context.Context) (jetstream.Stream, error) {
	d.exp.mu.Lock()
	defer d.exp.mu.Unlock()
	if d.exp.s != nil {
		return d.exp.s, nil
	}
	s, err := d.js.Stream(ctx, d.cfg.Stream)
	if err != nil {
		return nil, err
	}
	d.exp.s = s
	return s, nil
}

// subjectHead is the last message of a key's subject: its stream sequence
// (what Nats-Expected-Last-Subject-Sequence compares with; 0 when the
// subject has none) and the version it carries (its Evbench-Seq: an
// event's Seq is the stream's version after it).
func (d *Driver) subjectHead(ctx context.Context, stream string) (streamSeq, version uint64, err error) {
	if d.isClosed() {
		return 0, 0, errClosed
	}
	s, err := d.streamHandle(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("nats: stream version %q: %w", stream, err)
	}
	subj, _ := subjectFor(d.cfg.prefix(), stream)
	m, err := s.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("nats: stream version %q: last message of %s: %w", stream, subj, err)
	}
	v, err := strconv.ParseUint(m.Header.Get(hSeq), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("nats: stream version %q: message %d of %s has no %s header: not written by evbench", stream, m.Sequence, subj, hSeq)
	}
	return m.Sequence, v, nil
}

// StreamVersion is the Seq of the last message on the key's subject.
func (d *Driver) StreamVersion(ctx context.Context, stream string) (uint64, error) {
	_, v, err := d.subjectHead(ctx, stream)
	return v, err
}

// errBatchInterrupted is a batch cut short after some of it was stored:
// JetStream publishes are independent, so a batch is a chain of publishes,
// each conditional on the one before.
var errBatchInterrupted = errors.New("nats: expected-version batch interrupted after part of it was stored")

// AppendExpected reads the stream sequence of the subject's last message
// and its version; when the version is expected it publishes the first
// event with Nats-Expected-Last-Subject-Sequence set to that sequence, so
// the server refuses it if any message reached the subject since the read
// (a lost race is a conflict, never a second event at one version). Each
// further event of the batch expects the sequence of the one before. A
// refusal of the first event is a *drivers.ConflictError and nothing is
// written; a refusal later in the batch (a writer slipped in between, after
// reloading the version this batch already moved) leaves the batch's head
// stored and returns errBatchInterrupted, an ambiguous failure. A first
// event the server reports as a duplicate (its Nats-Msg-Id is stored, within
// the stream's duplicate window) is an idempotent retry: its original
// position, as on refstore.
func (d *Driver) AppendExpected(ctx context.Context, stream string, expected uint64, batch []drivers.Event) ([]drivers.Position, error) {
	for i := range batch {
		if batch[i].Key != stream {
			return nil, fmt.Errorf("nats: append stream %q: event %d has key %q: every event must be in the stream", stream, i, batch[i].Key)
		}
	}
	if len(batch) == 0 {
		return nil, nil
	}
	last, cur, err := d.subjectHead(ctx, stream)
	if err != nil {
		return nil, err
	}
	if cur != expected {
		return nil, &drivers.ConflictError{Stream: stream, Expected: expected, Actual: cur, ActualKnown: true}
	}
	pos := make([]drivers.Position, len(batch))
	for i := range batch {
		ack, err := d.js.PublishMsg(ctx, d.toMsg(&batch[i]), jetstream.WithExpectLastSequencePerSubject(last))
		if err != nil {
			if wrongLastSeq(err) && i == 0 {
				return nil, &drivers.ConflictError{Stream: stream, Expected: expected}
			}
			if wrongLastSeq(err) {
				return nil, fmt.Errorf("append stream %q: %d of %d events stored: %w", stream, i, len(batch), errBatchInterrupted)
			}
			return nil, fmt.Errorf("nats: append stream %q event %d of %d: %w", stream, i+1, len(batch), err)
		}
		last = ack.Sequence
		pos[i] = drivers.Position{Offset: int64(ack.Sequence) - 1}
	}
	return pos, nil
}

// wrongLastSeq reports JetStream's "wrong last sequence" refusal (10071;
// 10164 on replicated streams).
func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
