package sqsfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

func call(t *testing.T, s *Server, op string, in any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", s.URL(), bytes.NewReader(b))
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", op, resp.StatusCode, out)
	}
	return out
}

// TestFIFOGroupsAndDedupe: a group's next message is held while one is in
// flight, other groups are not; a repeated deduplication ID is not stored.
func TestFIFOGroupsAndDedupe(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := call(t, s, "CreateQueue", map[string]any{"QueueName": "t.fifo", "Attributes": map[string]string{"FifoQueue": "true"}})["QueueUrl"]
	entries := []map[string]string{
		{"Id": "1", "MessageBody": "a1", "MessageGroupId": "A", "MessageDeduplicationId": "d1"},
		{"Id": "2", "MessageBody": "a2", "MessageGroupId": "A", "MessageDeduplicationId": "d2"},
		{"Id": "3", "MessageBody": "b1", "MessageGroupId": "B", "MessageDeduplicationId": "d3"},
		{"Id": "4", "MessageBody": "a1 again", "MessageGroupId": "A", "MessageDeduplicationId": "d1"},
	}
	call(t, s, "SendMessageBatch", map[string]any{"QueueUrl": url, "Entries": entries})
	bodies := func(out map[string]any) []string {
		var b []string
		for _, m := range out["Messages"].([]any) {
			b = append(b, m.(map[string]any)["Body"].(string))
		}
		return b
	}
	first := bodies(call(t, s, "ReceiveMessage", map[string]any{"QueueUrl": url, "MaxNumberOfMessages": 10}))
	if len(first) != 2 || first[0] != "a1" || first[1] != "b1" {
		t.Fatalf("first receive %v; want [a1 b1]: one per group, a2 held behind a1, the duplicate of d1 not stored", first)
	}
	if again := bodies(call(t, s, "ReceiveMessage", map[string]any{"QueueUrl": url, "MaxNumberOfMessages": 10})); len(again) != 0 {
		t.Fatalf("while a1 and b1 are in flight got %v; want nothing (FIFO holds each group)", again)
	}
}
