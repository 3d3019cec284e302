package sqsfake

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func query(t *testing.T, s *Server, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.Post(s.URL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSNSFanoutDelivery: a published message reaches each subscribed queue
// whose policy lets the topic send, raw, once per deduplication ID; a
// queue without that policy gets nothing, as on SNS.
func TestSNSFanoutDelivery(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code, body := query(t, s, url.Values{"Action": {"CreateTopic"}, "Name": {"t.fifo"},
		"Attributes.entry.1.key": {"FifoTopic"}, "Attributes.entry.1.value": {"true"}})
	var ct struct {
		ARN string `xml:"CreateTopicResult>TopicArn"`
	}
	if err := xml.Unmarshal([]byte(body), &ct); code != 200 || err != nil || ct.ARN == "" {
		t.Fatalf("CreateTopic: %d %s %v", code, body, err)
	}
	urls := map[string]any{}
	for _, q := range []string{"allowed.fifo", "denied.fifo"} {
		urls[q] = call(t, s, "CreateQueue", map[string]any{"QueueName": q, "Attributes": map[string]string{"FifoQueue": "true"}})["QueueUrl"]
		arn := call(t, s, "GetQueueAttributes", map[string]any{"QueueUrl": urls[q], "AttributeNames": []string{"QueueArn"}})["Attributes"].(map[string]any)["QueueArn"].(string)
		if code, body := query(t, s, url.Values{"Action": {"Subscribe"}, "TopicArn": {ct.ARN}, "Protocol": {"sqs"}, "Endpoint": {arn},
			"Attributes.entry.1.key": {"RawMessageDelivery"}, "Attributes.entry.1.value": {"true"}}); code != 200 {
			t.Fatalf("Subscribe %s: %d %s", q, code, body)
		}
	}
	call(t, s, "SetQueueAttributes", map[string]any{"QueueUrl": urls["allowed.fifo"], "Attributes": map[string]string{
		"Policy": `{"Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Condition":{"ArnEquals":{"aws:SourceArn":"` + ct.ARN + `"}}}]}`}})
	publish := url.Values{"Action": {"PublishBatch"}, "TopicArn": {ct.ARN}}
	for i, e := range [][3]string{{"a1", "A", "d1"}, {"b1", "B", "d2"}, {"a1 again", "A", "d1"}} {
		p := "PublishBatchRequestEntries.member." + string(rune('1'+i)) + "."
		publish[p+"Id"], publish[p+"Message"], publish[p+"MessageGroupId"], publish[p+"MessageDeduplicationId"] = []string{e[0]}, []string{e[0]}, []string{e[1]}, []string{e[2]}
	}
	code, body = query(t, s, publish)
	if code != 200 || strings.Count(body, "<Successful>") != 1 || strings.Count(body, "<MessageId>") != 3 || strings.Contains(body, "<Failed><member>") {
		t.Fatalf("PublishBatch: %d %s; want 3 successful entries", code, body)
	}
	var got []string
	for _, m := range call(t, s, "ReceiveMessage", map[string]any{"QueueUrl": urls["allowed.fifo"], "MaxNumberOfMessages": 10})["Messages"].([]any) {
		got = append(got, m.(map[string]any)["Body"].(string))
	}
	if strings.Join(got, ",") != "a1,b1" {
		t.Errorf("allowed queue received %v; want [a1 b1] (raw bodies, the duplicate of d1 dropped)", got)
	}
	if n := len(call(t, s, "ReceiveMessage", map[string]any{"QueueUrl": urls["denied.fifo"], "MaxNumberOfMessages": 10})["Messages"].([]any)); n != 0 {
		t.Errorf("queue without a policy for the topic received %d message(s); want none", n)
	}
	if code, body := query(t, s, url.Values{"Action": {"PublishBatch"}, "TopicArn": {"arn:aws:sns:us-east-1:000000000000:nope.fifo"},
		"PublishBatchRequestEntries.member.1.Id": {"1"}}); code != 404 || !strings.Contains(body, "<Code>NotFound</Code>") {
		t.Errorf("PublishBatch to a missing topic: %d %s; want a NotFound error", code, body)
	}
}
