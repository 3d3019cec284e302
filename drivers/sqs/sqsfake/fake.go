// Package sqsfake is a minimal in-process fake of Amazon SQS FIFO queues,
// speaking the AWS JSON 1.0 protocol of aws-sdk-go-v2's service/sqs, for
// exactly the calls the evbench sqs driver makes: CreateQueue, GetQueueUrl,
// DeleteQueue, PurgeQueue, SendMessageBatch, ReceiveMessage (long polling),
// DeleteMessageBatch, GetQueueAttributes and SetQueueAttributes. On the same
// endpoint it serves the SNS calls of the driver's fan-out mode (query
// protocol: CreateTopic, Subscribe, PublishBatch; see sns.go), routing a
// FIFO topic's messages to its subscribed queues with raw delivery.
//
// It exists because github.com/Admiral-Piett/goaws v0.4.5 speaks only the
// older query protocol (form-encoded Action=...), which aws-sdk-go-v2's SQS
// client no longer sends, and its import needs aws-sdk-go v1, which this
// module does not carry. It models what the driver relies on: FIFO order
// per message group (a group's next message is held back while one is in
// flight), deduplication by MessageDeduplicationId for 5 minutes,
// visibility timeouts, delete = ack. It keeps everything in memory: a run
// against it is emulated, its latencies are not SQS's.
package sqsfake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dedupeWindow is SQS's deduplication interval.
const dedupeWindow = 5 * time.Minute

// Server is the fake, listening on 127.0.0.1.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	cond   *sync.Cond // broadcast on every send, delete, purge
	queues map[string]*queue
	topics map[string]*topic // SNS FIFO topics by name (sns.go)
	nextID int64
}

type message struct {
	id, body, group, dedupe string
	seq                     int64
	receipt                 string
	invisibleUntil          time.Time
}

type queue struct {
	name       string
	visibility time.Duration
	msgs       []*message           // in send order
	dedupe     map[string]time.Time // dedupe id -> first sent
	dedupeIDs  map[string]string    // dedupe id -> message id
	policy     string               // the Policy attribute, as set
}

// Start listens on a random 127.0.0.1 port and serves until Close.
func Start() (*Server, error) { return StartAt("127.0.0.1:0") }

// StartAt listens on addr (host:port) and serves until Close: the
// standalone fake (cmd/sqsfake) a run with an explicit DSN points at.
func StartAt(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sqsfake: listen: %w", err)
	}
	s := &Server{ln: ln, queues: map[string]*queue{}, topics: map[string]*topic{}}
	s.cond = sync.NewCond(&s.mu)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	// Wake long polls regularly so their deadlines and visibility
	// timeouts are noticed.
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			s.mu.Lock()
			closed := s.queues == nil
			s.cond.Broadcast()
			s.mu.Unlock()
			if closed {
				return
			}
		}
	}()
	return s, nil
}

// URL is the endpoint to give the SQS client.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	s.queues = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	return s.srv.Close()
}

type apiError struct {
	status int
	code   string
	msg    string
}

func fail(code, format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, a...)}
}

// ServeHTTP dispatches on X-Amz-Target ("AmazonSQS.<Operation>", the SQS
// JSON 1.0 protocol); a request without it is SNS's query protocol
// (form-encoded Action=..., see sns.go), so one endpoint serves both clients.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") == "" {
		s.serveQuery(w, r)
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErr(w, fail("InvalidParameterValue", "body: %v", err))
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "CreateQueue":
		out, aerr = s.createQueue(in)
	case "GetQueueUrl":
		out, aerr = s.getQueueURL(in)
	case "DeleteQueue":
		out, aerr = s.deleteQueue(in)
	case "PurgeQueue":
		out, aerr = s.purgeQueue(in)
	case "SendMessageBatch":
		out, aerr = s.sendBatch(in)
	case "ReceiveMessage":
		out, aerr = s.receive(r, in)
	case "DeleteMessageBatch":
		out, aerr = s.deleteBatch(in)
	case "GetQueueAttributes":
		out, aerr = s.getQueueAttributes(in)
	case "SetQueueAttributes":
		out, aerr = s.setQueueAttributes(in)
	default:
		aerr = fail("UnsupportedOperation", "sqsfake does not implement %q", op)
	}
	if aerr != nil {
		writeErr(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", e.code+";Sender")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

func str(in map[string]json.RawMessage, k string) string {
	var v string
	_ = json.Unmarshal(in[k], &v)
	return v
}

func num(in map[string]json.RawMessage, k string, def int) int {
	var v int
	if err := json.Unmarshal(in[k], &v); err != nil {
		return def
	}
	return v
}

func (s *Server) url(name string) string { return s.URL() + "/" + account + "/" + name }

// account and region are the fake's AWS account and region, in its ARNs.
const (
	account = "000000000000"
	region  = "us-east-1"
)

func queueARN(name string) string { return "arn:aws:sqs:" + region + ":" + account + ":" + name }

// lookup finds a queue by URL; the caller holds s.mu.
func (s *Server) lookup(url string) (*queue, *apiError) {
	if s.queues == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "closed"}
	}
	q := s.queues[url[strings.LastIndex(url, "/")+1:]]
	if q == nil {
		return nil, fail("QueueDoesNotExist", "queue %s does not exist", url)
	}
	return q, nil
}

func (s *Server) createQueue(in map[string]json.RawMessage) (any, *apiError) {
	name := str(in, "QueueName")
	var attrs map[string]string
	_ = json.Unmarshal(in["Attributes"], &attrs)
	if !strings.HasSuffix(name, ".fifo") || attrs["FifoQueue"] != "true" {
		return nil, fail("InvalidParameterValue", "sqsfake models FIFO queues only (name ending .fifo, FifoQueue=true)")
	}
	vis := 30
	if v, err := strconv.Atoi(attrs["VisibilityTimeout"]); err == nil {
		vis = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "closed"}
	}
	if _, ok := s.queues[name]; !ok {
		s.queues[name] = &queue{name: name, visibility: time.Duration(vis) * time.Second, dedupe: map[string]time.Time{}, dedupeIDs: map[string]string{}}
	}
	return map[string]string{"QueueUrl": s.url(name)}, nil
}

func (s *Server) getQueueURL(in map[string]json.RawMessage) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(str(in, "QueueName"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"QueueUrl": s.url(q.name)}, nil
}

func (s *Server) deleteQueue(in map[string]json.RawMessage) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(str(in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	s.cond.Broadcast()
	return map[string]string{}, nil
}

func (s *Server) purgeQueue(in map[string]json.RawMessage) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(str(in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	q.msgs = nil
	s.cond.Broadcast()
	return map[string]string{}, nil
}

type sendEntry struct {
	ID                     string `json:"Id"`
	MessageBody            string
	MessageGroupId         string
	MessageDeduplicationId string
}

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func (s *Server) sendBatch(in map[string]json.RawMessage) (any, *apiError) {
	var entries []sendEntry
	if err := json.Unmarshal(in["Entries"], &entries); err != nil || len(entries) == 0 || len(entries) > 10 {
		return nil, fail("InvalidParameterValue", "Entries: 1 to 10 entries")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, aerr := s.lookup(str(in, "QueueUrl"))
	if aerr != nil {
		return nil, aerr
	}
	now := time.Now()
	type ok struct {
		ID               string `json:"Id"`
		MessageId        string
		MD5OfMessageBody string
		SequenceNumber   string
	}
	type bad struct {
		ID          string `json:"Id"`
		Code        string
		Message     string
		SenderFault bool
	}
	var succ []ok
	var failed []bad
	for _, e := range entries {
		if e.MessageGroupId == "" || e.MessageDeduplicationId == "" {
			failed = append(failed, bad{e.ID, "MissingParameter", "FIFO queues need MessageGroupId and MessageDeduplicationId", true})
			continue
		}
		id, seq := s.enqueue(q, e.MessageBody, e.MessageGroupId, e.MessageDeduplicationId, now)
		succ = append(succ, ok{e.ID, id, md5hex(e.MessageBody), strconv.FormatInt(seq, 10)})
	}
	s.cond.Broadcast()
	return map[string]any{"Successful": succ, "Failed": failed}, nil
}

// enqueue stores a message at the tail of q unless its deduplication ID
// was seen in the last 5 minutes; either way it returns the message ID
// (the first one's for a duplicate) and the sequence number (0 for a
// duplicate). The caller holds s.mu.
func (s *Server) enqueue(q *queue, body, group, dedupe string, now time.Time) (string, int64) {
	if first, seen := q.dedupe[dedupe]; seen && now.Sub(first) < dedupeWindow {
		return q.dedupeIDs[dedupe], 0
	}
	s.nextID++
	m := &message{id: fmt.Sprintf("m-%d", s.nextID), body: body, group: group, dedupe: dedupe, seq: s.nextID}
	q.msgs = append(q.msgs, m)
	q.dedupe[dedupe], q.dedupeIDs[dedupe] = now, m.id
	return m.id, m.seq
}

// receivable picks up to max messages: per group, only the oldest message,
// and only if no message of that group is in flight (FIFO order).
func (q *queue) receivable(now time.Time, max int) []*message {
	blocked := map[string]bool{}
	var out []*message
	for _, m := range q.msgs {
		if blocked[m.group] {
			continue
		}
		if m.invisibleUntil.After(now) {
			blocked[m.group] = true
			continue
		}
		out = append(out, m)
		blocked[m.group] = true
		if len(out) == max {
			break
		}
	}
	return out
}

func (s *Server) receive(r *http.Request, in map[string]json.RawMessage) (any, *apiError) {
	max := num(in, "MaxNumberOfMessages", 1)
	if max < 1 || max > 10 {
		return nil, fail("InvalidParameterValue", "MaxNumberOfMessages: 1 to 10")
	}
	wait := time.Duration(num(in, "WaitTimeSeconds", 0)) * time.Second
	deadline := time.Now().Add(wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		q, aerr := s.lookup(str(in, "QueueUrl"))
		if aerr != nil {
			return nil, aerr
		}
		if r.Context().Err() != nil { // the caller gave up: take nothing in flight for it
			return map[string]any{"Messages": []any{}}, nil
		}
		now := time.Now()
		vis := q.visibility
		if v := num(in, "VisibilityTimeout", -1); v >= 0 {
			vis = time.Duration(v) * time.Second
		}
		if got := q.receivable(now, max); len(got) > 0 {
			type out struct {
				MessageId     string
				ReceiptHandle string
				MD5OfBody     string
				Body          string
				Attributes    map[string]string
			}
			msgs := make([]out, len(got))
			for i, m := range got {
				s.nextID++
				m.receipt = fmt.Sprintf("%s#%d", m.id, s.nextID)
				m.invisibleUntil = now.Add(vis)
				msgs[i] = out{m.id, m.receipt, md5hex(m.body), m.body, map[string]string{"MessageGroupId": m.group, "SequenceNumber": strconv.FormatInt(m.seq, 10)}}
			}
			return map[string]any{"Messages": msgs}, nil
		}
		if !now.Before(deadline) || r.Context().Err() != nil {
			return map[string]any{"Messages": []any{}}, nil
		}
		s.cond.Wait()
	}
}

func (s *Server) deleteBatch(in map[string]json.RawMessage) (any, *apiError) {
	var entries []struct {
		ID            string `json:"Id"`
		ReceiptHandle string
	}
	if err := json.Unmarshal(in["Entries"], &entries); err != nil || len(entries) == 0 || len(entries) > 10 {
		return nil, fail("InvalidParameterValue", "Entries: 1 to 10 entries")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, aerr := s.lookup(str(in, "QueueUrl"))
	if aerr != nil {
		return nil, aerr
	}
	type ok struct {
		ID string `json:"Id"`
	}
	var succ []ok
	for _, e := range entries {
		for i, m := range q.msgs {
			if m.receipt == e.ReceiptHandle {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				break
			}
		}
		succ = append(succ, ok{e.ID}) // SQS answers success for a stale handle too
	}
	s.cond.Broadcast()
	return map[string]any{"Successful": succ, "Failed": []any{}}, nil
}
