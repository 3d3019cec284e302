package sqsfake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The SNS half of the fake: the query-protocol calls the driver's sns=true
// mode makes (CreateTopic, Subscribe, PublishBatch), for FIFO topics whose
// subscribers are this fake's FIFO queues with raw message delivery. A
// published message is copied, at publish time, to every subscribed queue
// whose Policy names the topic (SNS needs the queue to allow it; a queue
// that does not is skipped, as SNS silently fails that delivery): the body
// is the message unchanged, the group and deduplication IDs are kept, so
// each queue holds every message in publish order per group and drops a
// deduplication ID it saw in the last 5 minutes. The topic deduplicates
// too: a repeated ID is accepted with the first message ID and not
// delivered again. Real SNS delivers asynchronously; the fake delivers
// before answering, so its fan-out adds no delay.

// topic is an SNS FIFO topic.
type topic struct {
	name      string
	subs      []subscription
	dedupe    map[string]time.Time // dedupe id -> first published
	dedupeIDs map[string]string    // dedupe id -> message id
}

type subscription struct {
	arn   string
	queue string // the subscribed queue's name
}

func topicARN(name string) string { return "arn:aws:sns:" + region + ":" + account + ":" + name }

// arnName is the resource name at the end of an ARN.
func arnName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// serveQuery dispatches a query-protocol request on its Action.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeXMLErr(w, fail("InvalidParameter", "form: %v", err))
		return
	}
	f := r.PostForm
	var out any
	var aerr *apiError
	switch a := f.Get("Action"); a {
	case "CreateTopic":
		out, aerr = s.createTopic(f)
	case "Subscribe":
		out, aerr = s.subscribe(f)
	case "PublishBatch":
		out, aerr = s.publishBatch(f)
	default:
		aerr = fail("InvalidAction", "sqsfake does not implement SNS action %q", a)
	}
	if aerr != nil {
		writeXMLErr(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
}

func writeXMLErr(w http.ResponseWriter, e *apiError) {
	type body struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_ = xml.NewEncoder(w).Encode(body{NS: snsNS, Type: "Sender", Code: e.code, Message: e.msg, RequestID: "sqsfake"})
}

// entries reads a query map such as Attributes.entry.N.key/value.
func entries(f url.Values, prefix string) map[string]string {
	m := map[string]string{}
	for i := 1; f.Has(prefix + ".entry." + strconv.Itoa(i) + ".key"); i++ {
		p := prefix + ".entry." + strconv.Itoa(i)
		m[f.Get(p+".key")] = f.Get(p + ".value")
	}
	return m
}

func (s *Server) createTopic(f url.Values) (any, *apiError) {
	name, attrs := f.Get("Name"), entries(f, "Attributes")
	if !strings.HasSuffix(name, ".fifo") || attrs["FifoTopic"] != "true" {
		return nil, fail("InvalidParameter", "sqsfake models FIFO topics only (name ending .fifo, FifoTopic=true)")
	}
	if attrs["ContentBasedDeduplication"] == "true" {
		return nil, fail("InvalidParameter", "sqsfake models explicit MessageDeduplicationId only (ContentBasedDeduplication=false)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "closed"}
	}
	if _, ok := s.topics[name]; !ok {
		s.topics[name] = &topic{name: name, dedupe: map[string]time.Time{}, dedupeIDs: map[string]string{}}
	}
	type resp struct {
		XMLName xml.Name `xml:"CreateTopicResponse"`
		NS      string   `xml:"xmlns,attr"`
		ARN     string   `xml:"CreateTopicResult>TopicArn"`
	}
	return resp{NS: snsNS, ARN: topicARN(name)}, nil
}

// lookupTopic finds a topic by ARN; the caller holds s.mu.
func (s *Server) lookupTopic(arn string) (*topic, *apiError) {
	if s.queues == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "closed"}
	}
	t := s.topics[arnName(arn)]
	if t == nil || arn != topicARN(t.name) {
		return nil, &apiError{http.StatusNotFound, "NotFound", fmt.Sprintf("Topic does not exist: %s", arn)}
	}
	return t, nil
}

// subscribe subscribes an existing FIFO queue of this fake with raw
// delivery; subscribing the same queue again returns the same ARN.
func (s *Server) subscribe(f url.Values) (any, *apiError) {
	if p := f.Get("Protocol"); p != "sqs" {
		return nil, fail("InvalidParameter", "sqsfake subscribes sqs endpoints only, not %q", p)
	}
	if entries(f, "Attributes")["RawMessageDelivery"] != "true" {
		return nil, fail("InvalidParameter", "sqsfake models raw message delivery only (RawMessageDelivery=true)")
	}
	endpoint := f.Get("Endpoint")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.lookupTopic(f.Get("TopicArn"))
	if aerr != nil {
		return nil, aerr
	}
	qname := arnName(endpoint)
	if _, ok := s.queues[qname]; !ok || endpoint != queueARN(qname) {
		return nil, fail("InvalidParameter", "Endpoint %q is not a queue ARN of this fake", endpoint)
	}
	type resp struct {
		XMLName xml.Name `xml:"SubscribeResponse"`
		NS      string   `xml:"xmlns,attr"`
		ARN     string   `xml:"SubscribeResult>SubscriptionArn"`
	}
	for _, sub := range t.subs {
		if sub.queue == qname {
			return resp{NS: snsNS, ARN: sub.arn}, nil
		}
	}
	s.nextID++
	sub := subscription{arn: topicARN(t.name) + ":sub-" + strconv.FormatInt(s.nextID, 10), queue: qname}
	t.subs = append(t.subs, sub)
	return resp{NS: snsNS, ARN: sub.arn}, nil
}

// allows reports whether a queue policy lets SNS send from topicArn (the
// fake's check is textual: the service principal and the topic ARN).
func allows(policy, topicArn string) bool {
	return strings.Contains(policy, "sns.amazonaws.com") && strings.Contains(policy, topicArn) && strings.Contains(policy, "sqs:SendMessage")
}

func (s *Server) publishBatch(f url.Values) (any, *apiError) {
	type entry struct{ id, msg, group, dedupe string }
	var in []entry
	for i := 1; ; i++ {
		p := "PublishBatchRequestEntries.member." + strconv.Itoa(i) + "."
		if !f.Has(p + "Id") {
			break
		}
		in = append(in, entry{f.Get(p + "Id"), f.Get(p + "Message"), f.Get(p + "MessageGroupId"), f.Get(p + "MessageDeduplicationId")})
	}
	if len(in) == 0 {
		return nil, fail("EmptyBatchRequest", "PublishBatchRequestEntries: at least one entry")
	}
	if len(in) > 10 {
		return nil, fail("TooManyEntriesInBatchRequest", "PublishBatchRequestEntries: at most 10 entries")
	}
	type ok struct {
		ID             string `xml:"Id"`
		MessageID      string `xml:"MessageId"`
		SequenceNumber string `xml:"SequenceNumber"`
	}
	type bad struct {
		ID          string `xml:"Id"`
		Code        string `xml:"Code"`
		Message     string `xml:"Message"`
		SenderFault bool   `xml:"SenderFault"`
	}
	type resp struct {
		XMLName    xml.Name `xml:"PublishBatchResponse"`
		NS         string   `xml:"xmlns,attr"`
		Successful []ok     `xml:"PublishBatchResult>Successful>member"`
		Failed     []bad    `xml:"PublishBatchResult>Failed>member"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.lookupTopic(f.Get("TopicArn"))
	if aerr != nil {
		return nil, aerr
	}
	out := resp{NS: snsNS}
	now := time.Now()
	for _, e := range in {
		if e.group == "" || e.dedupe == "" {
			out.Failed = append(out.Failed, bad{e.id, "InvalidParameter", "FIFO topics need MessageGroupId and MessageDeduplicationId", true})
			continue
		}
		if first, seen := t.dedupe[e.dedupe]; seen && now.Sub(first) < dedupeWindow {
			out.Successful = append(out.Successful, ok{e.id, t.dedupeIDs[e.dedupe], "0"})
			continue
		}
		s.nextID++
		id, seq := fmt.Sprintf("sns-%d", s.nextID), s.nextID
		t.dedupe[e.dedupe], t.dedupeIDs[e.dedupe] = now, id
		for _, sub := range t.subs {
			if q := s.queues[sub.queue]; q != nil && allows(q.policy, topicARN(t.name)) {
				s.enqueue(q, e.msg, e.group, e.dedupe, now)
			}
		}
		out.Successful = append(out.Successful, ok{e.id, id, strconv.FormatInt(seq, 10)})
	}
	s.cond.Broadcast()
	return out, nil
}
